/**
 * Scheduled jobs (docs/jobs.md): what a job is, as the REST API takes it and as an
 * integration folder declares it in `jobs.ts` (default export: an array of
 * {@link JobDefinition}, each with a stable `name`).
 */
import type { ExecutionConfig } from "./execution.ts";

/**
 * When a job fires:
 * - `{cron, tz?}`: a cron expression of 5 fields (minute first) or 6 (seconds first), read in
 *   the IANA time zone `tz` (default UTC); DST as croner handles it (https://croner.56k.guru/):
 *   a local time skipped by a spring-forward gap fires at the first instant after it, a time
 *   repeated by a fall-back fires once.
 * - `{every_seconds}`: every N seconds (a positive integer), counted from when the job was
 *   created or last rescheduled.
 * - `{at}`: once, at an ISO 8601 instant with an offset or `Z` (e.g. `2030-01-01T09:00:00Z`).
 */
export type JobSchedule =
  | { cron: string; tz?: string }
  | { every_seconds: number }
  | { at: string };

/**
 * Where a firing's message goes: an existing session (a firing is skipped once it is
 * ended or deleted), or the session of (bot, client id), created when absent.
 */
export type JobTarget = { session_id: string } | { bot_id: string; client_id: string };

/** What a job does when it finds slots missed while no instance ran (default `run_once`). */
export type JobMissedPolicy = "run_once" | "skip";

/** What a firing does while the job's previous run is still queued or running (default `skip`). */
export type JobOverlapPolicy = "skip" | "queue";

/** One job, as an integration's `jobs.ts` declares it (and as `POST /api/v1/jobs` takes it). */
export interface JobDefinition {
  /** Stable within the integration: the sync matches jobs by (integration, name). */
  name: string;
  schedule: JobSchedule;
  /** A session id, or the session of (bot_id, client_id). */
  target: string | JobTarget;
  /** The user message injected at each firing (an agent turn runs on it). */
  prompt: string;
  execution_config?: ExecutionConfig | null;
  /** Where results go (`{type, ...}`); default the session's. */
  dispatch_config?: Record<string, unknown> | null;
  /** Default true. */
  enabled?: boolean;
  missed?: JobMissedPolicy;
  overlap?: JobOverlapPolicy;
}
