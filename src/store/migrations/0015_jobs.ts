/**
 * Migration `0015_jobs`.
 * Scheduled jobs and their runs (docs/jobs.md). A job's `next_run_at` is claimed by
 * compare-and-set, and a run is UNIQUE per (job_id, scheduled_for), so a slot fires once
 * across instances. Jobs an integration's jobs.ts declares are keyed by (integration,
 * name).
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("jobs")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("schedule", "text", (c) => c.notNull())
      .addColumn("target", "text", (c) => c.notNull())
      .addColumn("prompt", "text", (c) => c.notNull())
      .addColumn("execution_config", "text")
      .addColumn("dispatch_config", "text")
      .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
      .addColumn("missed", "text", (c) => c.notNull().defaultTo("run_once"))
      .addColumn("overlap", "text", (c) => c.notNull().defaultTo("skip"))
      .addColumn("next_run_at", "bigint")
      .addColumn("integration", "text")
      .addColumn("definition_hash", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("jobs_integration_name")
      .on("jobs")
      .columns(["integration", "name"])
      .unique()
      .execute();
    await db.schema.createIndex("jobs_due").on("jobs").columns(["next_run_at"]).execute();
    await db.schema
      .createTable("job_runs")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("job_id", "text", (c) => c.notNull())
      .addColumn("scheduled_for", "bigint", (c) => c.notNull())
      .addColumn("covers", "integer", (c) => c.notNull().defaultTo(1))
      .addColumn("manual", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("reason", "text")
      .addColumn("session_id", "text")
      .addColumn("task_id", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addUniqueConstraint("job_runs_slot", ["job_id", "scheduled_for"])
      .execute();
    await db.schema.createIndex("job_runs_task").on("job_runs").columns(["task_id"]).execute();
  },
};
