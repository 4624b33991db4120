/**
 * Migration `0016_instances`.
 * Running servers (issue 14, several instances on one database): each writes its row
 * every few seconds; `GET /api/v1/admin/instances` lists those heard from recently.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("instances")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("version", "text", (c) => c.notNull())
      .addColumn("hostname", "text", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("last_heartbeat_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
