/**
 * Tool `github_get_issue`: an issue (or a pull request's conversation) with its most recent
 * comments, read from `GET /repos/{owner}/{repo}/issues/{number}` and the last pages of
 * `…/issues/{number}/comments?per_page=100` (https://docs.github.com/en/rest/issues).
 * Long text is cut to stated sizes ({@link LIMITS}); an API error comes back as
 * `{error, status}`.
 */
import type { IntegrationContext, ToolDefinition } from "switchyard";
import { githubGet } from "../_api.ts";
import { stripMarkers, truncateText } from "../_text.ts";
import { checkArgs, repoNumberSchema } from "./_args.ts";

/** Size limits of the result, in characters (UTF-16 units) and comments. */
export const LIMITS = {
  /** The issue description. */
  body_chars: 10_000,
  /** The newest comments returned, oldest of them first. */
  comments: 20,
  /** One comment's body. */
  comment_chars: 4_000,
} as const;

const PER_PAGE = 100;

type Obj = Record<string, any>;

export default {
  name: "github_get_issue",
  description:
    "Read a GitHub issue (or the conversation of a pull request): title, description, author, " +
    `state, labels, and its ${LIMITS.comments} most recent comments, oldest first. Sizes are capped: ` +
    `description ${LIMITS.body_chars} characters, each comment ${LIMITS.comment_chars}; cut text says so. ` +
    "Errors come back as {error, status}.",
  parameters: repoNumberSchema("issue or pull request"),
  execute: async (args: { repo: string; number: number }, tctx) => {
    const ctx: IntegrationContext = tctx.integration;
    const checked = checkArgs(ctx, args);
    if ("error" in checked) return checked;
    const base = `/repos/${checked.repo.full}/issues/${checked.number}`;
    const res = await githubGet<Obj>(ctx, base, { signal: tctx.signal });
    if (!res.ok) return { error: res.error, status: res.status };
    const issue = res.data;
    const total = typeof issue.comments === "number" ? issue.comments : 0;

    // Comments are listed oldest first: read the last page, and the one before it when the
    // last holds fewer than LIMITS.comments.
    let comments: Obj[] = [];
    const lastPage = Math.max(1, Math.ceil(total / PER_PAGE));
    for (let page = lastPage; total > 0 && page >= 1 && page > lastPage - 2; page--) {
      const list = await githubGet<Obj[]>(
        ctx,
        `${base}/comments?per_page=${PER_PAGE}&page=${page}`,
        { signal: tctx.signal },
      );
      if (!list.ok) return { error: list.error, status: list.status };
      comments = [...(Array.isArray(list.data) ? list.data : []), ...comments];
      if (comments.length >= LIMITS.comments) break;
    }
    const recent = comments.slice(-LIMITS.comments);
    const body = truncateText(issue.body, LIMITS.body_chars);
    return {
      repo: checked.repo.full,
      number: issue.number ?? checked.number,
      url: issue.html_url ?? null,
      is_pull_request: Boolean(issue.pull_request),
      title: issue.title ?? "",
      body: body.text,
      author: issue.user?.login ?? null,
      state: issue.state ?? null,
      state_reason: issue.state_reason ?? null,
      labels: (Array.isArray(issue.labels) ? issue.labels : []).map((l: Obj | string) =>
        typeof l === "string" ? l : l?.name,
      ),
      assignees: (Array.isArray(issue.assignees) ? issue.assignees : []).map((a: Obj) => a?.login),
      created_at: issue.created_at ?? null,
      comments_total: total,
      comments: recent.map((c) => {
        const text = truncateText(stripMarkers(String(c.body ?? "")), LIMITS.comment_chars);
        return {
          author: c.user?.login ?? null,
          author_association: c.author_association ?? null,
          created_at: c.created_at ?? null,
          body: text.text,
          ...(text.truncated ? { truncated: true } : {}),
        };
      }),
      truncated: {
        body: body.truncated,
        older_comments_not_shown: Math.max(0, total - recent.length),
      },
      limits: LIMITS,
    };
  },
} satisfies ToolDefinition;
