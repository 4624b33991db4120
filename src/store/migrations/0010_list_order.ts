/**
 * Migration `0010_list_order`.
 * GET /api/v1/sessions and /tasks page newest first by (created_at, id).
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createIndex("sessions_created")
      .on("sessions")
      .columns(["created_at", "id"])
      .execute();
    await db.schema
      .createIndex("tasks_created")
      .on("tasks")
      .columns(["created_at", "id"])
      .execute();
  },
};
