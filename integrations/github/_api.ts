/**
 * GitHub REST API helpers shared by the tools and the dispatcher (a helper module: the `_`
 * prefix keeps the loader away).
 *
 * Requests carry the headers GitHub asks for (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api):
 * `Accept: application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28`, a
 * `User-Agent`, and `Authorization: Bearer <GITHUB_TOKEN>` when a token is set.
 *
 * Reads and writes go through `ctx.http`, the server's one outbound client (timeouts, no
 * redirects, the SSRF guard); reads ask it for the whole body (up to {@link MAX_READ_BYTES})
 * and the response headers (`Link` for paging, rate-limit headers). Neither the token nor
 * response bodies are put in error messages, only GitHub's short `message` field.
 */
import type { IntegrationContext, OutboundResult } from "switchyard";

/** Default REST API root. */
export const DEFAULT_API_URL = "https://api.github.com";
/** The REST API version requested (X-GitHub-Api-Version). */
export const API_VERSION = "2022-11-28";
/** Timeout of one read, in ms. */
export const READ_TIMEOUT_MS = 15_000;
/** Largest response body a read accepts, in bytes (10 MiB). */
export const MAX_READ_BYTES = 10 * 1024 * 1024;
/** Wait after a rate limit without a hint, in ms (GitHub: "wait at least one minute"). */
const RATE_LIMIT_FALLBACK_MS = 60_000;

type Settings = Record<string, string | undefined>;

/** A repository reference. */
export interface RepoRef {
  owner: string;
  name: string;
  /** `owner/name` */
  full: string;
}

/** A failed call: a short, secret-free reason and whether a later retry may succeed. */
export interface GithubFailure {
  ok: false;
  /** HTTP status, or null when no response was received. */
  status: number | null;
  error: string;
  retryable: boolean;
  /** How long to wait before retrying (rate limits, Retry-After), in ms. */
  retryAfterMs?: number;
}

/** The outcome of {@link githubGet}. */
export type GithubResult<T> =
  | {
      ok: true;
      status: number;
      data: T /** The `Link` header (pagination). */;
      link: string | null;
    }
  | GithubFailure;

const NAME_RE = /^[A-Za-z0-9_.-]{1,100}$/;

/** Parses `owner/name`; undefined when it is not a plausible GitHub repository name. */
export function parseRepo(value: unknown): RepoRef | undefined {
  if (typeof value !== "string") return undefined;
  const parts = value.trim().split("/");
  if (parts.length !== 2) return undefined;
  const [owner, name] = parts as [string, string];
  if (!NAME_RE.test(owner) || !NAME_RE.test(name) || name === "." || name === "..") {
    return undefined;
  }
  return { owner, name, full: `${owner}/${name}` };
}

/** A positive integer issue or pull request number, else undefined. */
export function parseNumber(value: unknown): number | undefined {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** GITHUB_REPO_ALLOWLIST as lower-cased `owner/repo` names; null when unset (all allowed). */
export function parseAllowlist(value: string | undefined): Set<string> | null {
  const items = (value ?? "")
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return items.length ? new Set(items) : null;
}

/** Whether the integration may act on `repo` (GITHUB_REPO_ALLOWLIST; names compare case-blind). */
export function repoAllowed(settings: Settings, repo: RepoRef): boolean {
  const list = parseAllowlist(settings.GITHUB_REPO_ALLOWLIST);
  return list === null || list.has(repo.full.toLowerCase());
}

/** `GITHUB_API_URL` (default {@link DEFAULT_API_URL}) + `path` (which starts with `/`). */
export function apiUrl(settings: Settings, path: string): string {
  return `${(settings.GITHUB_API_URL || DEFAULT_API_URL).replace(/\/+$/, "")}${path}`;
}

/** The request headers of every API call (with the token when one is set). */
export function githubHeaders(settings: Settings): Record<string, string> {
  const headers: Record<string, string> = {
    accept: "application/vnd.github+json",
    "x-github-api-version": API_VERSION,
    "user-agent": "switchyard-github",
  };
  if (settings.GITHUB_TOKEN) headers.authorization = `Bearer ${settings.GITHUB_TOKEN}`;
  return headers;
}

/** GitHub's `message` from an error body (`{"message": …}`), cut to 200 characters. */
export function githubMessage(body: string | undefined): string {
  if (!body) return "";
  try {
    const m = (JSON.parse(body) as { message?: unknown })?.message;
    return typeof m === "string" ? m.slice(0, 200) : "";
  } catch {
    return "";
  }
}

/**
 * The wait a rate-limited answer asks for, in ms, or undefined when `status` is no rate
 * limit. Rules from https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit:
 * a 403 or 429 with `retry-after` (seconds) → that; with `x-ratelimit-remaining: 0` → until
 * `x-ratelimit-reset` (epoch seconds); any other 429, or a 403 whose message mentions a rate
 * limit (secondary limits) → at least one minute.
 */
export function rateLimitDelayMs(
  status: number | null,
  header: (name: string) => string | null,
  message: string,
  now = Date.now(),
): number | undefined {
  if (status !== 403 && status !== 429) return undefined;
  const retryAfter = header("retry-after");
  if (retryAfter && /^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
  if (header("x-ratelimit-remaining") === "0") {
    const reset = Number(header("x-ratelimit-reset"));
    return reset > 0 ? Math.max(0, reset * 1000 - now) : RATE_LIMIT_FALLBACK_MS;
  }
  if (status === 429 || /rate limit/i.test(message)) return RATE_LIMIT_FALLBACK_MS;
  return undefined;
}

/** The page number of `rel="last"` in a `Link` header, if any. */
export function lastPage(link: string | null): number | undefined {
  const m = /<([^>]+)>;\s*rel="last"/.exec(link ?? "");
  if (!m) return undefined;
  try {
    return parseNumber(new URL(m[1]!).searchParams.get("page") ?? "");
  } catch {
    return undefined;
  }
}

/**
 * GETs `path` (e.g. `/repos/o/r/pulls/1`) from the API and parses the JSON answer. Never
 * throws: every failure comes back as a {@link GithubFailure}. 5xx, 408, rate limits,
 * timeouts and network errors are retryable; other 4xx, 3xx (redirects are not followed)
 * and a bad GITHUB_API_URL are not.
 * @param opts.signal aborts the request (e.g. the tool's cancellation signal)
 * @param opts.timeoutMs per-request timeout in ms (default {@link READ_TIMEOUT_MS})
 */
export async function githubGet<T = unknown>(
  ctx: Pick<IntegrationContext, "settings" | "http">,
  path: string,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<GithubResult<T>> {
  const label = `GitHub API GET ${path.split("?")[0]}`;
  const fail = (
    status: number | null,
    why: string,
    retryable: boolean,
    retryAfterMs?: number,
  ): GithubFailure => ({
    ok: false,
    status,
    error: `${label}: ${why}`,
    retryable,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
  let url: URL;
  try {
    url = new URL(apiUrl(ctx.settings, path));
  } catch {
    return fail(null, "GITHUB_API_URL is not a valid URL", false);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return fail(null, "GITHUB_API_URL must be an http(s) URL", false);
  }
  const timeoutMs = opts.timeoutMs ?? READ_TIMEOUT_MS;
  const res = await ctx.http.request("GET", url.href, {
    headers: githubHeaders(ctx.settings),
    timeoutMs,
    retries: 1,
    signal: opts.signal,
    maxResponseBytes: MAX_READ_BYTES,
  });
  if (res.status === null) {
    if (opts.signal?.aborted) return fail(null, "aborted", true);
    return fail(null, res.error ?? "no response", res.retryable);
  }
  const headers = res.responseHeaders ?? {};
  const text = res.responseBody ?? "";
  if (!res.ok) {
    if (res.status >= 300 && res.status < 400) {
      return fail(res.status, `HTTP ${res.status} (redirect not followed)`, false);
    }
    const message = githubMessage(text);
    const wait = rateLimitDelayMs(res.status, (h) => headers[h] ?? null, message);
    const retryable = wait !== undefined || res.status >= 500 || res.status === 408;
    return fail(res.status, `HTTP ${res.status}${message ? ` ${message}` : ""}`, retryable, wait);
  }
  if (res.responseTruncated) {
    return fail(res.status, `response larger than ${MAX_READ_BYTES} bytes`, false);
  }
  try {
    return {
      ok: true,
      status: res.status,
      data: JSON.parse(text) as T,
      link: headers.link ?? null,
    };
  } catch {
    return fail(res.status, "the response is not JSON", true);
  }
}

/**
 * Describes a failed write made through `ctx.http` as a {@link GithubFailure}: 5xx, 408,
 * 429, timeouts and network errors are retryable (as `ctx.http` says), and so is a 403
 * whose message names a rate limit; other 4xx are not.
 */
export function writeFailure(label: string, res: OutboundResult): GithubFailure {
  const message = githubMessage(res.responseBody);
  const limit = rateLimitDelayMs(res.status, (h) => res.responseHeaders?.[h] ?? null, message);
  const wait = res.retryAfterMs ?? limit;
  return {
    ok: false,
    status: res.status,
    error: `${label}: ${res.error ?? `HTTP ${res.status}`}${message ? ` ${message}` : ""}`,
    retryable: res.retryable || limit !== undefined,
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
  };
}
