/**
 * The shape of this integration's settings, as `ctx.settings` holds them. The keys, their
 * descriptions and defaults are declared in `setup.ts`; this file only gives them a type.
 */
export interface GithubSettings {
  /** Shared secret of the repository webhook (HMAC-SHA256 in X-Hub-Signature-256). */
  GITHUB_WEBHOOK_SECRET?: string;
  /** Token for the REST API (sent as `Authorization: Bearer …`). */
  GITHUB_TOKEN?: string;
  /** REST API root, default `https://api.github.com` (GitHub Enterprise: `https://HOST/api/v3`). */
  GITHUB_API_URL?: string;
  /** The account the answers are posted as; its own events are ignored. */
  GITHUB_BOT_LOGIN?: string;
  /** The switchyard bot that answers (default `default`). */
  GITHUB_BOT_ID?: string;
  /** Optional `owner/repo` list (comma or space separated) the integration may act on. */
  GITHUB_REPO_ALLOWLIST?: string;
  [key: string]: string | undefined;
}
