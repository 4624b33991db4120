/**
 * Migration `0009_delivery_destination`.
 * Never edit it once released; add a new one.
 */
import { type Migration, sql } from "kysely";

export const migration: Migration = {
  async up(db) {
    // The receiver a delivery goes to (lib/destination.ts): the outbox claims fairly
    // across destinations and caps each one's sends in flight. Older rows get their
    // target type (one destination per sender), good enough for a backlog.
    await db.schema
      .alterTable("deliveries")
      .addColumn("destination", "text", (c) => c.notNull().defaultTo(""))
      .execute();
    await db.updateTable("deliveries").set({ destination: sql`target_type` }).execute();
    await db.schema
      .createIndex("deliveries_destination")
      .on("deliveries")
      .columns(["destination", "next_attempt_at"])
      .execute();
  },
};
