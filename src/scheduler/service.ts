/**
 * The job service (docs/jobs.md): create, change, delete and read jobs, with their meaning
 * checked (schedule, target) and `next_run_at` computed on the scheduler's clock. REST,
 * MCP, the CLI (through REST) and the jobs.ts sync all go through it.
 */
import { UnknownBotError } from "../sessions/errors.ts";
import { checkClientId, checkExecutionConfig } from "../sessions/validate.ts";
import type { Store } from "../store/index.ts";
import type { Job, JobFields, StoredJobTarget } from "../store/jobs.ts";
import { checkSchedule, firstSlot, JobInputError } from "./schedule.ts";
import type { JobInput, JobPatch } from "./schemas.ts";

/** The job named does not exist. */
export class JobNotFoundError extends Error {
  override readonly name = "JobNotFoundError";
  constructor() {
    super("Job not found");
  }
}

/** What a {@link JobService} is built from. */
export interface JobServiceOptions {
  store: Store;
  /** The scheduler's clock (ms since epoch). */
  now: () => number;
  /** Called after a job was written (wakes the local scheduler loop); must not throw. */
  onChange: () => void;
}

/** Normalises a target: a bare string is a session id. */
export function targetOf(t: JobInput["target"]): StoredJobTarget {
  return typeof t === "string" ? { session_id: t } : t;
}

/** Jobs: CRUD with meaning checks. */
export class JobService {
  readonly #o: JobServiceOptions;
  constructor(opts: JobServiceOptions) {
    this.#o = opts;
  }

  /** The scheduler's clock. */
  now(): number {
    return this.#o.now();
  }

  /**
   * The fields of a job from its input, checked, with its first slot.
   * @throws JobInputError naming the field (`schedule.cron`, `schedule.tz`, `target.session_id`…)
   * @throws UnknownBotError when the target names no bot
   * @throws InvalidInputError when the execution config or client id is not acceptable
   */
  async fieldsOf(input: JobInput): Promise<JobFields> {
    checkSchedule(input.schedule);
    const target = targetOf(input.target);
    await this.#checkTarget(target);
    checkExecutionConfig(input.execution_config);
    return {
      name: input.name,
      schedule: input.schedule,
      target,
      prompt: input.prompt,
      executionConfig: input.execution_config ?? null,
      dispatchConfig: input.dispatch_config ?? null,
      enabled: input.enabled,
      missed: input.missed,
      overlap: input.overlap,
      nextRunAt: input.enabled ? firstSlot(input.schedule, this.#o.now()) : null,
    };
  }

  /** Creates a job; see {@link fieldsOf} for what it throws. */
  async create(input: JobInput): Promise<Job> {
    const job = await this.#o.store.jobs.insert(await this.fieldsOf(input));
    this.#o.onChange();
    return job;
  }

  /**
   * Replaces the given fields. A new schedule, or enabling, computes `next_run_at` anew from
   * now (slots missed while disabled are not made up); disabling clears it.
   * @throws JobNotFoundError, and what {@link fieldsOf} throws
   */
  async update(id: string, patch: JobPatch): Promise<Job> {
    const store = this.#o.store;
    const job = await store.jobs.get(id);
    if (!job) throw new JobNotFoundError();
    const merged: JobInput = {
      name: patch.name ?? job.name,
      schedule: patch.schedule ?? job.schedule,
      target: patch.target ?? job.target,
      prompt: patch.prompt ?? job.prompt,
      execution_config:
        patch.execution_config === undefined ? job.executionConfig : patch.execution_config,
      dispatch_config:
        patch.dispatch_config === undefined ? job.dispatchConfig : patch.dispatch_config,
      enabled: patch.enabled ?? job.enabled,
      missed: patch.missed ?? job.missed,
      overlap: patch.overlap ?? job.overlap,
    };
    const fields: Partial<JobFields> = await this.fieldsOf(merged);
    const rescheduled = patch.schedule !== undefined || (merged.enabled && !job.enabled);
    if (!merged.enabled) fields.nextRunAt = null;
    else if (!rescheduled) delete fields.nextRunAt;
    else if ("at" in merged.schedule) {
      const fired = (await store.jobRuns.list(id, 1)).some((r) => !r.manual);
      fields.nextRunAt = firstSlot(merged.schedule, this.#o.now(), fired);
    }
    const out = (await store.jobs.update(id, fields))!;
    this.#o.onChange();
    return out;
  }

  /** @throws JobNotFoundError */
  async delete(id: string): Promise<void> {
    if (!(await this.#o.store.jobs.delete(id))) throw new JobNotFoundError();
  }

  /** @throws JobNotFoundError */
  async get(id: string): Promise<Job> {
    const job = await this.#o.store.jobs.get(id);
    if (!job) throw new JobNotFoundError();
    return job;
  }

  async #checkTarget(t: StoredJobTarget): Promise<void> {
    if ("session_id" in t) {
      if (!(await this.#o.store.sessions.get(t.session_id))) {
        throw new JobInputError("target.session_id", "no session has this id");
      }
      return;
    }
    checkClientId(t.client_id);
    if (!(await this.#o.store.bots.get(t.bot_id))) throw new UnknownBotError(t.bot_id);
  }
}
