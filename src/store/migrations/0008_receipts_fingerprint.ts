/**
 * Migration `0008_receipts_fingerprint`.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    // A digest of the request that used the key (Idempotency-Key): a repeat with the same
    // key and another body is refused instead of answered with the first one's ids.
    await db.schema.alterTable("inbound_receipts").addColumn("fingerprint", "text").execute();
  },
};
