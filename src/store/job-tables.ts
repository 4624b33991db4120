/**
 * Row types of scheduled jobs and their runs (issue 14).
 * Times are milliseconds since the epoch (integers); JSON values are stored as text and
 * parsed by the repositories. Re-exported by ./schema.ts.
 */

/** A scheduled job (issue 14): what to inject, where, and when next. */
export interface JobsTable {
  id: string;
  name: string;
  /** JSON: `{cron, tz?}`, `{every_seconds}` or `{at}`. */
  schedule: string;
  /** JSON: `{session_id}` or `{bot_id, client_id}`. */
  target: string;
  prompt: string;
  /** JSON object or null. */
  execution_config: string | null;
  /** JSON object or null. */
  dispatch_config: string | null;
  /** 1/0. */
  enabled: number;
  missed: string;
  overlap: string;
  /** The next slot to fire (ms); null when it never fires again (disabled, one-shot done). */
  next_run_at: number | null;
  /** The integration whose jobs.ts declares it, or null for a job made through the API. */
  integration: string | null;
  /** SHA-256 of the declared definition (integration jobs), else null. */
  definition_hash: string | null;
  created_at: number;
  updated_at: number;
}

/** `queued` (a task was or is being injected), `skipped` or `failed` (never injected). */
export type JobRunStoredStatus = "queued" | "skipped" | "failed";

/** One firing of a job: UNIQUE per (job_id, scheduled_for). */
export interface JobRunsTable {
  id: string;
  job_id: string;
  /** The slot this run stands for (ms); UNIQUE with job_id. */
  scheduled_for: number;
  /** How many slots it stands for (more than 1 after downtime). */
  covers: number;
  /** 1 for a run-now. */
  manual: number;
  status: JobRunStoredStatus;
  reason: string | null;
  session_id: string | null;
  task_id: string | null;
  created_at: number;
}
