/**
 * Shared by the tools (a helper: the `_` prefix keeps the loader away): the argument
 * schema `{repo: "owner/name", number}` and its validation, including GITHUB_REPO_ALLOWLIST.
 */
import type { IntegrationContext, JsonSchemaObject } from "switchyard";
import { parseNumber, parseRepo, type RepoRef, repoAllowed } from "../_api.ts";

/** JSON Schema of `{repo, number}`. */
export function repoNumberSchema(what: string): JsonSchemaObject {
  return {
    type: "object",
    properties: {
      repo: { type: "string", description: 'The repository as "owner/name"' },
      number: { type: "integer", minimum: 1, description: `The ${what} number` },
    },
    required: ["repo", "number"],
    additionalProperties: false,
  };
}

/** What a tool returns to the model when it cannot answer: readable, never a failed turn. */
export interface ToolError {
  error: string;
  /** HTTP status of GitHub's answer, or null when there was none. */
  status: number | null;
}

/**
 * Validated `{repo, number}`, or a {@link ToolError}: a malformed repo or number, or a
 * repository outside GITHUB_REPO_ALLOWLIST (when set, tools read only those, so text in one
 * repository cannot make the agent copy another repository's content into it).
 */
export function checkArgs(
  ctx: IntegrationContext,
  args: { repo?: unknown; number?: unknown },
): { repo: RepoRef; number: number } | ToolError {
  const repo = parseRepo(args?.repo);
  const number = parseNumber(args?.number);
  if (!repo) return { error: 'repo must be "owner/name"', status: null };
  if (!number) return { error: "number must be a positive integer", status: null };
  if (!repoAllowed(ctx.settings, repo)) {
    return { error: `${repo.full} is not in GITHUB_REPO_ALLOWLIST`, status: null };
  }
  return { repo, number };
}
