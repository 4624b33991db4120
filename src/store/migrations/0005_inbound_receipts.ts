/**
 * Migration `0005_inbound_receipts`.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    // Provider delivery ids already accepted (a webhook delivery header, an event or update id),
    // written in the same transaction as the message they produced.
    await db.schema
      .createTable("inbound_receipts")
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("message_id", "text")
      .addColumn("task_id", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("inbound_receipts_pk", ["source", "key"])
      .execute();
    await db.schema
      .createIndex("inbound_receipts_created")
      .on("inbound_receipts")
      .column("created_at")
      .execute();
  },
};
