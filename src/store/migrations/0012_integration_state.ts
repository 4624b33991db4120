/**
 * Migration `0012_integration_state`.
 * ctx.state: a small key → JSON value store per integration (a chat adapter's polling
 * offset). Named apart from `integrations_state` (core's settings documents).
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("integration_kv")
      .addColumn("integration", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("integration_kv_pk", ["integration", "key"])
      .execute();
  },
};
