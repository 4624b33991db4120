/**
 * Migration `0011_channels`.
 * Channels (DESIGN §3): which bot answers an outside conversation, whether it needs a
 * mention, whether unmentioned messages are kept. The table of 0001 was never written
 * (nothing used it), so it is recreated in its final shape: require_mention may be null
 * (the conversation's kind decides), and (integration, team, channel) identify it.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.dropTable("channels").ifExists().execute();
    await db.schema
      .createTable("channels")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("client_id", "text", (c) => c.notNull().unique())
      .addColumn("integration", "text", (c) => c.notNull())
      .addColumn("team", "text")
      .addColumn("channel", "text", (c) => c.notNull())
      .addColumn("bot_id", "text", (c) => c.notNull())
      .addColumn("active_session_id", "text")
      .addColumn("require_mention", "integer")
      .addColumn("passive_memory", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("channels_created")
      .on("channels")
      .columns(["created_at", "id"])
      .execute();
  },
};
