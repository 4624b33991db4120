/**
 * `/api/v1/jobs…` (docs/jobs.md): create, list, read (with the next firing times), change
 * and delete jobs; list a job's runs; run a job now. Scopes `jobs:read` / `jobs:write`.
 */
import { z } from "zod";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import { redactConfig } from "../lib/redact.ts";
import type { JobRunner } from "../scheduler/runner.ts";
import { checkSchedule, firstSlot, JobInputError, upcoming } from "../scheduler/schedule.ts";
import { createJobBody, scheduleSchema, updateJobBody } from "../scheduler/schemas.ts";
import { JobNotFoundError, type JobService } from "../scheduler/service.ts";
import {
  InvalidDispatchConfigError,
  InvalidInputError,
  UnknownBotError,
} from "../sessions/errors.ts";
import type { Store } from "../store/index.ts";
import type { JobRun } from "../store/job-runs.ts";
import type { Job } from "../store/jobs.ts";

const idParams = z.object({ id: z.string().min(1) });
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  integration: z.string().min(1).max(200).optional(),
});

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/** How many firing times `GET /jobs/{id}` previews. */
export const NEXT_RUNS_SHOWN = 5;

/** The wire shape of a job. */
export function jobJson(j: Job) {
  return {
    id: j.id,
    name: j.name,
    schedule: j.schedule,
    target: j.target,
    prompt: j.prompt,
    execution_config: j.executionConfig,
    dispatch_config: redactConfig(j.dispatchConfig),
    enabled: j.enabled,
    missed: j.missed,
    overlap: j.overlap,
    next_run_at: iso(j.nextRunAt),
    /** The integration whose jobs.ts declares it, or null for a job made through the API. */
    integration: j.integration,
    created_at: iso(j.createdAt),
    updated_at: iso(j.updatedAt),
  };
}

/** A job with `next_runs`: its next {@link NEXT_RUNS_SHOWN} firing times. */
export function jobWithPreview(j: Job) {
  return {
    ...jobJson(j),
    next_runs: upcoming(j.schedule, j.enabled ? j.nextRunAt : null, NEXT_RUNS_SHOWN).map((t) =>
      new Date(t).toISOString(),
    ),
  };
}

/** The wire shape of a job run. */
export function runJson(r: JobRun) {
  return {
    id: r.id,
    job_id: r.jobId,
    scheduled_for: iso(r.scheduledFor),
    covers: r.covers,
    manual: r.manual,
    status: r.status,
    reason: r.reason,
    session_id: r.sessionId,
    task_id: r.taskId,
    created_at: iso(r.createdAt),
  };
}

/**
 * Maps the job service's errors to HTTP: a refused meaning (cron, time zone, target,
 * unknown bot, destination) 422 naming the field, an unknown job 404.
 */
export function jobHttpError(err: unknown): never {
  if (err instanceof JobInputError) throw new HttpError(422, `Invalid ${err.message}`);
  if (err instanceof UnknownBotError) throw new HttpError(422, `Unknown bot: ${err.botId}`);
  if (err instanceof InvalidDispatchConfigError) throw new HttpError(422, err.message);
  if (err instanceof InvalidInputError) {
    throw new HttpError(400, `Invalid body: ${err.field}: ${err.problem}`);
  }
  if (err instanceof JobNotFoundError) throw notFound("Job");
  throw err;
}

/** What jobsApi needs. */
export interface JobsApiOptions {
  store: Store;
  jobs: JobService;
  runner: JobRunner;
}

/** Registers the job routes. */
export const jobsApi = apiPlugin<JobsApiOptions>((routes, { store, jobs, runner }) => {
  const responses = {
    422: "An invalid cron expression (schedule.cron) or time zone (schedule.tz), an unknown target session or bot",
  };
  routes.add({
    method: "POST",
    url: "/api/v1/jobs",
    summary:
      "Create a job: schedule {cron, tz?} | {every_seconds} | {at}, target (session id or {bot_id, client_id}), prompt; missed run_once|skip, overlap skip|queue",
    scope: "jobs:write",
    body: createJobBody,
    status: 201,
    responses,
    async handler({ body }) {
      return jobWithPreview(await jobs.create(body).catch(jobHttpError));
    },
  });

  routes.add({
    method: "POST",
    url: "/api/v1/jobs/preview",
    summary:
      "Preview a schedule before saving a job: its next 5 firing times from now (nothing is stored)",
    scope: "jobs:read",
    body: z.strictObject({ schedule: scheduleSchema }),
    responses: { 422: "An invalid cron expression (schedule.cron) or time zone (schedule.tz)" },
    async handler({ body }) {
      try {
        checkSchedule(body.schedule);
      } catch (err) {
        jobHttpError(err);
      }
      const first = firstSlot(body.schedule, jobs.now());
      return {
        next_runs: upcoming(body.schedule, first, NEXT_RUNS_SHOWN).map((t) =>
          new Date(t).toISOString(),
        ),
      };
    },
  });

  routes.add({
    method: "GET",
    url: "/api/v1/jobs",
    summary: "Jobs, newest first, with next_run_at (integration: only that integration's)",
    scope: "jobs:read",
    query: listQuery,
    async handler({ query }) {
      const rows = await store.jobs.list({ integration: query.integration, limit: query.limit });
      return { items: rows.map(jobJson) };
    },
  });

  routes.add({
    method: "GET",
    url: "/api/v1/jobs/:id",
    summary: "A job, with next_run_at and next_runs (its next 5 firing times)",
    scope: "jobs:read",
    params: idParams,
    async handler({ params }) {
      return jobWithPreview(await jobs.get(params.id).catch(jobHttpError));
    },
  });

  routes.add({
    method: "PUT",
    url: "/api/v1/jobs/:id",
    summary:
      "Change a job: the given fields replace its own; a new schedule or enabling computes next_run_at from now",
    scope: "jobs:write",
    params: idParams,
    body: updateJobBody,
    responses,
    async handler({ params, body }) {
      return jobWithPreview(await jobs.update(params.id, body).catch(jobHttpError));
    },
  });

  routes.add({
    method: "DELETE",
    url: "/api/v1/jobs/:id",
    summary: "Delete a job and its runs",
    scope: "jobs:write",
    params: idParams,
    status: 204,
    async handler({ params }, reply) {
      await jobs.delete(params.id).catch(jobHttpError);
      return reply.code(204).send();
    },
  });

  routes.add({
    method: "GET",
    url: "/api/v1/jobs/:id/runs",
    summary:
      "A job's runs, newest slot first: status queued|running|complete|failed|skipped, reason, covers, task_id",
    scope: "jobs:read",
    params: idParams,
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    async handler({ params, query }) {
      await jobs.get(params.id).catch(jobHttpError);
      return { items: (await store.jobRuns.list(params.id, query.limit)).map(runJson) };
    },
  });

  routes.add({
    method: "POST",
    url: "/api/v1/jobs/:id/run",
    summary:
      "Run a job now: a run for the slot now (next_run_at unchanged); skipped with its reason when the job is disabled, its previous run still runs (overlap skip) or its target session is gone",
    scope: "jobs:write",
    params: idParams,
    status: 201,
    async handler({ params }) {
      const job = await jobs.get(params.id).catch(jobHttpError);
      return runJson(await runner.runNow(job));
    },
  });
});
