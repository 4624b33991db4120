/**
 * Row types of what integrations keep: settings, synced skills, named state documents and
 * the key-value state of `ctx.state`.
 * Times are milliseconds since the epoch (integers); JSON values are stored as text and
 * parsed by the repositories. Re-exported by ./schema.ts.
 */

/** `integration_settings`: one setting of an integration set through the admin API. */
export interface IntegrationSettingsTable {
  integration: string;
  key: string;
  /** The value, or its AES-256-GCM ciphertext (`v1:<iv>:<tag>:<data>`, base64) when encrypted. */
  value: string;
  encrypted: number;
  updated_at: number;
}

/** Skills synced from integration folders (`integrations/<name>/skills/*.md`). */
export interface SkillsTable {
  /** `integrations/<name>/<stem>` */
  id: string;
  integration: string;
  name: string;
  description: string;
  /** The Markdown body, without its front matter. */
  content: string;
  /** The file it was read from. */
  source: string;
  /** sha256 hex of the whole file. */
  content_hash: string;
  created_at: number;
  updated_at: number;
}

/** Named JSON settings documents (`git_auto_commit`…) with an optimistic version. */
export interface IntegrationsStateTable {
  key: string;
  /** JSON value. */
  value: string;
  version: number;
  updated_at: number;
}

/**
 * A small durable key → JSON value store per integration (`ctx.state`), e.g. a chat
 * adapter's polling offset.
 */
export interface IntegrationKvTable {
  integration: string;
  key: string;
  /** JSON value. */
  value: string;
  updated_at: number;
}
