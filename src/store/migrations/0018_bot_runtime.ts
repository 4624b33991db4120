/**
 * Migration `0018_bot_runtime`: a bot's runtime settings (JSON: provider, scope, network,
 * timeout_s, max_output_bytes; null → every default).
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("bots").addColumn("runtime", "text").execute();
  },
};
