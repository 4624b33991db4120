/** API key scopes: what a key (or a route an integration protects) may do. */

/** Every scope the API knows. `X:write` implies `X:read`; `admin` implies all. */
export const SCOPES = [
  "sessions:read",
  "sessions:write",
  "tasks:read",
  "tasks:write",
  "documents:read",
  "documents:write",
  "webhooks:read",
  "webhooks:write",
  "jobs:read",
  "jobs:write",
  "approvals:read",
  "approvals:write",
  "admin",
] as const;

/** One API scope, e.g. `"sessions:write"`. */
export type Scope = (typeof SCOPES)[number];

/**
 * What a runtime or an attachment belongs to (DESIGN §3): nothing crosses scopes.
 * `id` is the session, channel or bot id.
 */
export interface OwnerScope {
  kind: "session" | "channel" | "bot";
  id: string;
}
