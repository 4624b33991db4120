/**
 * Migration `0014_ui_sessions`.
 * Admin UI sign-in sessions (issue 15): the cookie holds a random id, the table only its
 * SHA-256; the session belongs to an API key and dies with it (checked on every lookup).
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("ui_sessions")
      .addColumn("id_hash", "text", (c) => c.primaryKey())
      .addColumn("key_id", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("ui_sessions_expires")
      .on("ui_sessions")
      .column("expires_at")
      .execute();
  },
};
