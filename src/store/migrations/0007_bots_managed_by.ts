/**
 * Migration `0007_bots_managed_by`.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    // Who owns a bot: "env" (the `default` bot, created from SWITCHYARD_MODEL, follows the
    // environment at every start) or "api" (created or edited through the admin API).
    await db.schema
      .alterTable("bots")
      .addColumn("managed_by", "text", (c) => c.notNull().defaultTo("api"))
      .execute();
    // A default bot never written since its creation still holds what the environment gave it.
    await db
      .updateTable("bots")
      .set({ managed_by: "env" })
      .where("id", "=", "default")
      .whereRef("updated_at", "=", "created_at")
      .execute();
  },
};
