/**
 * Migration `0006_outbound_events`.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("webhook_subscriptions")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("url", "text", (c) => c.notNull().unique())
      .addColumn("events", "text", (c) => c.notNull().defaultTo("[]"))
      .addColumn("secret", "text")
      .addColumn("secret_encrypted", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("disabled_at", "bigint")
      .addColumn("disabled_reason", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("notifications")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("channel", "text", (c) => c.notNull())
      .addColumn("message", "text", (c) => c.notNull())
      .addColumn("priority", "text", (c) => c.notNull())
      .addColumn("delivered", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("delivery_id", "text")
      .addColumn("meta", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    // Small named settings documents (git_auto_commit…), each a JSON value.
    await db.schema
      .createTable("integrations_state")
      .addColumn("key", "text", (c) => c.primaryKey())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("version", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    // Ended by POST /sessions/{id}/end (emits session.end); null while open.
    await db.schema.alterTable("sessions").addColumn("ended_at", "bigint").execute();
    // Event deliveries name their subscription, for filtering and for disabling on 410.
    await db.schema.alterTable("deliveries").addColumn("subscription_id", "text").execute();
    await db.schema
      .createIndex("deliveries_subscription")
      .on("deliveries")
      .columns(["subscription_id", "id"])
      .execute();
  },
};
