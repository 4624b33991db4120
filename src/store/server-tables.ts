/**
 * Row types of the server's own bookkeeping: API keys, admin UI sign-ins, named leases and
 * the running instances.
 * Times are milliseconds since the epoch (integers); JSON values are stored as text and
 * parsed by the repositories. Re-exported by ./schema.ts.
 */

/** `api_keys`: an API key's hash, name and scopes. */
export interface ApiKeysTable {
  id: string;
  name: string;
  /** sha256 hex of the key; the key itself is never stored. */
  key_hash: string;
  /** JSON array of scopes. */
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** An admin UI sign-in session: only the SHA-256 of the cookie's random id is kept. */
export interface UiSessionsTable {
  id_hash: string;
  /** The API key it was opened with (`static` for SWITCHYARD_API_KEY). */
  key_id: string;
  created_at: number;
  expires_at: number;
}

/**
 * Named leases: at most one holder of `name` at a time, until `expires_at` (ms since the
 * epoch) unless renewed (`ctx.exclusive`, singleton work across instances).
 */
export interface LeasesTable {
  name: string;
  /** The holder's id (an instance id plus a per-run suffix). */
  holder: string;
  expires_at: number;
  /** When this holder first took the lease. */
  acquired_at: number;
}

/** A running server (issue 14): written every heartbeat, deleted on a clean stop. */
export interface InstancesTable {
  /** The instance's owner id (`<hostname>:<pid>:<random>`), as in its leases. */
  id: string;
  version: string;
  hostname: string;
  /** When it started, ms since the epoch. */
  started_at: number;
  /** Its last heartbeat, ms since the epoch. */
  last_heartbeat_at: number;
}
