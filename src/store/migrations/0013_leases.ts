/**
 * Migration `0013_leases`.
 * Named leases (ctx.exclusive; singleton processes later): one row per name, taken
 * atomically when free, expired or already the caller's.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("leases")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("holder", "text", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("acquired_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
