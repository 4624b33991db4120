/**
 * Migration `0025_model_calls`.
 * One row per model call of a task (an agent loop step): the model, when it started, how
 * long it took, the tokens it reported and why it stopped — for the task's timeline.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("model_calls")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("task_id", "text", (c) => c.notNull())
      .addColumn("model", "text", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("duration_ms", "integer", (c) => c.notNull())
      .addColumn("input_tokens", "integer")
      .addColumn("output_tokens", "integer")
      .addColumn("finish_reason", "text")
      .execute();
    await db.schema
      .createIndex("model_calls_task")
      .on("model_calls")
      .columns(["task_id", "started_at"])
      .execute();
  },
};
