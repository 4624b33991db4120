/**
 * Migration `0024_delivery_attempts` (issue 15, the Deliveries page's Attempts tab).
 * `delivery_attempts`: one row per outbox attempt of a delivery, written with its outcome
 * by the delivery worker — when it started, how long it took (ms), what it came to
 * (delivered / failed / dead), the receiver's HTTP status, the error, and for the last HTTP
 * request the attempt made: the request headers with secret values masked (JSON) and the
 * first bytes of the response body. Looked up by delivery, oldest first.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("delivery_attempts")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("delivery_id", "text", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("duration_ms", "integer", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("http_status", "integer")
      .addColumn("error", "text")
      .addColumn("requests", "integer", (c) => c.notNull())
      .addColumn("request_method", "text")
      .addColumn("request_url", "text")
      .addColumn("request_headers", "text")
      .addColumn("response_excerpt", "text")
      .addColumn("response_truncated", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createIndex("delivery_attempts_delivery")
      .on("delivery_attempts")
      .columns(["delivery_id", "id"])
      .execute();
  },
};
