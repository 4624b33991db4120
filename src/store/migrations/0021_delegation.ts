/**
 * Migration `0021_delegation`.
 * Delegation (issue 14): a task made by the `delegate` tool names the task that made it
 * (`parent_task_id`, also in its `callback_config`), so a parent's children are counted
 * (the fan-out limit) with an index rather than by reading JSON.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("tasks").addColumn("parent_task_id", "text").execute();
    await db.schema
      .createIndex("tasks_parent_task_id")
      .on("tasks")
      .column("parent_task_id")
      .execute();
  },
};
