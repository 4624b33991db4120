/**
 * Tool `github_get_pr`: a pull request with its changed files and their patches, read from
 * `GET /repos/{owner}/{repo}/pulls/{number}` and `…/pulls/{number}/files?per_page=100`
 * (https://docs.github.com/en/rest/pulls/pulls). Long text is cut to stated sizes
 * ({@link LIMITS}); an API error comes back as `{error, status}`.
 */
import type { IntegrationContext, ToolDefinition } from "switchyard";
import { githubGet } from "../_api.ts";
import { truncateText } from "../_text.ts";
import { checkArgs, repoNumberSchema } from "./_args.ts";

/** Size limits of the result, in characters (UTF-16 units) and files. */
export const LIMITS = {
  /** The pull request description. */
  body_chars: 10_000,
  /** One file's patch. */
  patch_chars_per_file: 12_000,
  /** All patches together; files past it are listed without their patch. */
  patch_chars_total: 60_000,
  /** Files listed (the first page GitHub returns). */
  files: 100,
} as const;

type Obj = Record<string, any>;

const branch = (b: Obj | undefined) => ({
  ref: b?.ref ?? null,
  sha: b?.sha ?? null,
  repo: b?.repo?.full_name ?? null,
});

/** The files part of the result: patches cut per file and in total. */
function files(list: Obj[]) {
  let budget: number = LIMITS.patch_chars_total;
  let omitted = 0;
  const out = list.slice(0, LIMITS.files).map((f) => {
    const file: Obj = {
      filename: f.filename,
      status: f.status,
      additions: f.additions,
      deletions: f.deletions,
      ...(f.previous_filename ? { previous_filename: f.previous_filename } : {}),
    };
    if (typeof f.patch !== "string") {
      file.patch = null; // binary, or too large for GitHub to show
      return file;
    }
    if (budget <= 0) {
      omitted++;
      file.patch = null;
      file.patch_omitted = true;
      return file;
    }
    const cut = truncateText(f.patch, Math.min(LIMITS.patch_chars_per_file, budget));
    budget -= cut.text.length;
    file.patch = cut.text;
    if (cut.truncated) file.patch_truncated = true;
    return file;
  });
  return { files: out, omitted };
}

export default {
  name: "github_get_pr",
  description:
    "Read a GitHub pull request: title, description, author, state, base and head branches, " +
    `and its changed files with their patches (diffs). Sizes are capped: description ${LIMITS.body_chars} characters, ` +
    `each patch ${LIMITS.patch_chars_per_file}, all patches ${LIMITS.patch_chars_total}, at most ${LIMITS.files} files; ` +
    "cut text says so. Errors come back as {error, status}.",
  parameters: repoNumberSchema("pull request"),
  execute: async (args: { repo: string; number: number }, tctx) => {
    const ctx: IntegrationContext = tctx.integration;
    const checked = checkArgs(ctx, args);
    if ("error" in checked) return checked;
    const base = `/repos/${checked.repo.full}/pulls/${checked.number}`;
    const pr = await githubGet<Obj>(ctx, base, { signal: tctx.signal });
    if (!pr.ok) return { error: pr.error, status: pr.status };
    const list = await githubGet<Obj[]>(ctx, `${base}/files?per_page=${LIMITS.files}`, {
      signal: tctx.signal,
    });
    if (!list.ok) return { error: list.error, status: list.status };
    const p = pr.data;
    const body = truncateText(p.body, LIMITS.body_chars);
    const changed = Array.isArray(list.data) ? list.data : [];
    const { files: shown, omitted } = files(changed);
    return {
      repo: checked.repo.full,
      number: p.number ?? checked.number,
      url: p.html_url ?? null,
      title: p.title ?? "",
      body: body.text,
      author: p.user?.login ?? null,
      state: p.state ?? null,
      draft: p.draft === true,
      merged: p.merged === true,
      base: branch(p.base),
      head: branch(p.head),
      commits: p.commits ?? null,
      additions: p.additions ?? null,
      deletions: p.deletions ?? null,
      changed_files: p.changed_files ?? changed.length,
      files: shown,
      truncated: {
        body: body.truncated,
        files_not_listed: Math.max(0, (p.changed_files ?? changed.length) - shown.length),
        patches_omitted: omitted,
      },
      limits: LIMITS,
    };
  },
} satisfies ToolDefinition;
