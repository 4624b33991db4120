/**
 * Issue comments: splitting an answer into comments GitHub accepts, finding the markers of
 * comments already posted, and posting one comment.
 *
 * GitHub limits a comment body to 65,536 characters (the API answers 422 "body is too
 * long (maximum is 65536 characters)"). Comments are listed with
 * `GET /repos/{owner}/{repo}/issues/{number}/comments` (oldest first, `per_page` ≤ 100,
 * `Link` header for pages) and created with `POST` to the same path
 * (https://docs.github.com/en/rest/issues/comments).
 */
import type { IntegrationContext } from "switchyard";
import {
  apiUrl,
  type GithubFailure,
  githubGet,
  githubHeaders,
  lastPage,
  type RepoRef,
  writeFailure,
} from "./_api.ts";
import { splitAtLines } from "./_text.ts";

/** GitHub's limit of a comment body, in characters. */
export const COMMENT_LIMIT = 65_536;
/** Room kept in each comment for the part header and the marker, in characters. */
const RESERVED = 256;
/** Newest pages of comments searched for markers (100 comments each). */
export const MAX_SCAN_PAGES = 10;

/**
 * The comment bodies for `text`: parts cut at line breaks to fit {@link COMMENT_LIMIT},
 * each ending with `marker(part, parts)` and, when there are several, starting with
 * "(part i/n)".
 */
export function commentBodies(
  text: string,
  marker: (part: number, parts: number) => string,
): string[] {
  const parts = splitAtLines(text, COMMENT_LIMIT - RESERVED);
  return parts.map((p, i) => {
    const head = parts.length > 1 ? `_(part ${i + 1}/${parts.length})_\n\n` : "";
    return `${head}${p}\n\n${marker(i + 1, parts.length)}`;
  });
}

/**
 * Which of `markers` already appear in comments of the issue, searching the newest
 * {@link MAX_SCAN_PAGES} pages (newest first) and stopping once all were found.
 * @returns the markers found, or the failure of a listing request
 */
export async function findMarkers(
  ctx: Pick<IntegrationContext, "settings" | "http">,
  repo: RepoRef,
  number: number,
  markers: string[],
): Promise<Set<string> | GithubFailure> {
  const found = new Set<string>();
  const path = `/repos/${repo.full}/issues/${number}/comments?per_page=100&page=`;
  const scan = (comments: unknown) => {
    if (!Array.isArray(comments)) return;
    for (const c of comments) {
      const body = typeof c?.body === "string" ? c.body : "";
      for (const m of markers) if (body.includes(m)) found.add(m);
    }
  };
  const first = await githubGet<unknown[]>(ctx, `${path}1`);
  if (!first.ok) return first;
  const last = lastPage(first.link) ?? 1;
  for (let page = last; page > 1 && page > last - MAX_SCAN_PAGES; page--) {
    if (found.size === markers.length) return found;
    const res = await githubGet<unknown[]>(ctx, `${path}${page}`);
    if (!res.ok) return res;
    scan(res.data);
  }
  if (last <= MAX_SCAN_PAGES) scan(first.data);
  return found;
}

/**
 * Posts one comment through `ctx.http` with no inline retry (an ambiguous failure goes back
 * to the caller, whose next attempt checks for the marker before posting again).
 * @returns undefined when GitHub accepted it (2xx), else the failure
 */
export async function postComment(
  ctx: Pick<IntegrationContext, "settings" | "http">,
  repo: RepoRef,
  number: number,
  body: string,
): Promise<GithubFailure | undefined> {
  const path = `/repos/${repo.full}/issues/${number}/comments`;
  const res = await ctx.http.postJson(
    apiUrl(ctx.settings, path),
    { body },
    { headers: githubHeaders(ctx.settings), retries: 0 },
  );
  return res.ok ? undefined : writeFailure(`GitHub API POST ${path}`, res);
}
