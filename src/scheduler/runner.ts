/**
 * Firing jobs (docs/jobs.md). A due slot is claimed by compare-and-set on the job's
 * `next_run_at` and recorded as a job run (UNIQUE per job and slot) in one transaction, so
 * of several instances exactly one fires it; the run then injects the prompt through the
 * one `injectMessage`, deduped by the run's id, so an instance that stopped between the two
 * steps is made good by any instance later ({@link JobRunner.recover}) without a second
 * message. The run's status then follows its task.
 */
import type { Logger } from "pino";
import {
  InvalidDispatchConfigError,
  InvalidInputError,
  SessionNotFoundError,
  UnknownBotError,
} from "../sessions/errors.ts";
import type { SessionService } from "../sessions/service.ts";
import type { Repositories, Store } from "../store/index.ts";
import type { JobRun } from "../store/job-runs.ts";
import type { Job } from "../store/jobs.ts";
import { advance } from "./schedule.ts";

/** How many due jobs one pass fires at most (the next pass follows at once). */
const BATCH = 50;

/** A run recorded but not injected for this long (ms, scheduler clock) is injected again. */
export const RECOVER_AFTER_MS = 30_000;

/** What a {@link JobRunner} is built from. */
export interface JobRunnerOptions {
  store: Store;
  sessions: SessionService;
  log: Logger;
  /** The scheduler's clock (ms since epoch). */
  now: () => number;
}

/**
 * Told of each run this instance records (`queued` or `skipped` with its reason) and of
 * each it settles when injecting (`skipped` or `failed`); must not throw.
 */
export type JobRunObserver = (
  jobId: string,
  status: "queued" | "skipped" | "failed",
  reason: string | null,
) => void;

/** Claims due slots, records runs and injects their prompts. */
export class JobRunner {
  readonly #o: JobRunnerOptions;
  #observe: JobRunObserver = () => {};
  constructor(opts: JobRunnerOptions) {
    this.#o = opts;
  }

  /** Sets the one observer of recorded and settled runs (metrics). */
  observe(fn: JobRunObserver): void {
    this.#observe = fn;
  }

  #settle(run: JobRun, status: "skipped" | "failed", reason: string): Promise<void> {
    this.#observe(run.jobId, status, status === "skipped" ? reason : null);
    return this.#o.store.jobRuns.settle(run.id, status, reason);
  }

  /**
   * One pass: injects runs left unfinished, then fires every due job once.
   * @returns true when more jobs may be due at once, else the earliest next slot (ms) or null
   */
  async pass(): Promise<boolean | number | null> {
    const now = this.#o.now();
    await this.recover(now);
    const due = await this.#o.store.jobs.due(now, BATCH);
    for (const job of due) {
      try {
        await this.fire(job, now);
      } catch (err) {
        this.#o.log.error({ err, job: job.id }, "job firing failed; retried on the next pass");
      }
    }
    if (due.length === BATCH) return true;
    return this.#o.store.jobs.earliestDue();
  }

  /**
   * Fires a due job at `now`: claims its slot (and every slot missed since, which the job's
   * `missed` policy turns into one run or one skipped record) and runs it.
   * @returns the run, or undefined when another claimer took the slot
   */
  async fire(job: Job, now: number): Promise<JobRun | undefined> {
    const from = job.nextRunAt;
    if (from === null || from > now) return undefined;
    const slots = advance(job.schedule, from, now);
    const oneShot = "at" in job.schedule;
    const run = await this.#o.store.transaction(async (tx) => {
      if (!(await tx.jobs.claim(job.id, from, slots.next, oneShot))) return undefined;
      let reason: string | null = null;
      if (slots.count > 1 && job.missed === "skip") reason = "missed";
      else reason = await this.#skipReason(tx, job);
      return tx.jobRuns.insert({
        jobId: job.id,
        scheduledFor: slots.last,
        covers: slots.count,
        status: reason ? "skipped" : "queued",
        reason,
        createdAt: now,
      });
    });
    if (run) this.#observe(job.id, run.status === "skipped" ? "skipped" : "queued", run.reason);
    if (run?.status === "queued") await this.#inject(job, run);
    return run && (await this.#o.store.jobRuns.get(run.id));
  }

  /**
   * Runs a job now: a run for the slot `now` (its schedule and `next_run_at` untouched).
   * A disabled job gets a run skipped with reason `disabled`.
   * @returns the run (an existing one when this millisecond already has one)
   */
  async runNow(job: Job): Promise<JobRun> {
    const now = this.#o.now();
    const run = await this.#o.store.transaction(async (tx) => {
      const reason = job.enabled ? await this.#skipReason(tx, job) : "disabled";
      return tx.jobRuns.insert({
        jobId: job.id,
        scheduledFor: now,
        manual: true,
        status: reason ? "skipped" : "queued",
        reason,
        createdAt: now,
      });
    });
    if (!run) return (await this.#o.store.jobRuns.ofSlot(job.id, now))!;
    this.#observe(job.id, run.status === "skipped" ? "skipped" : "queued", run.reason);
    if (run.status === "queued") await this.#inject(job, run);
    return (await this.#o.store.jobRuns.get(run.id))!;
  }

  /** Injects runs recorded more than {@link RECOVER_AFTER_MS} before `now` and never injected. */
  async recover(now: number): Promise<void> {
    const store = this.#o.store;
    for (const run of await store.jobRuns.unfinished(now - RECOVER_AFTER_MS, BATCH)) {
      const job = await store.jobs.get(run.jobId);
      if (!job) await this.#settle(run, "failed", "job deleted");
      else await this.#inject(job, run);
    }
  }

  /** Why this firing is skipped (overlap, target gone), or null to run it. */
  async #skipReason(tx: Repositories, job: Job): Promise<string | null> {
    if (job.overlap === "skip" && (await tx.jobRuns.hasActive(job.id))) return "overlap";
    if ("session_id" in job.target) {
      const s = await tx.sessions.get(job.target.session_id);
      if (!s) return "target_deleted";
      if (s.endedAt !== null) return "target_ended";
    }
    return null;
  }

  /**
   * Injects the run's prompt into its target with a turn; a refusal (target gone, unknown
   * bot, a refused destination) settles the run. Other errors leave it queued for
   * {@link recover}.
   */
  async #inject(job: Job, run: JobRun): Promise<void> {
    const { store, sessions } = this.#o;
    let sessionId: string;
    try {
      if ("session_id" in job.target) sessionId = job.target.session_id;
      else {
        const got = await sessions.getOrCreate(job.target.bot_id, job.target.client_id);
        if (got.session.endedAt !== null) {
          await this.#settle(run, "skipped", "target_ended");
          return;
        }
        sessionId = got.session.id;
      }
      const r = await sessions.injectMessage(sessionId, {
        content: job.prompt,
        runAgent: true,
        source: "scheduler",
        metadata: {
          job_id: job.id,
          job_run_id: run.id,
          scheduled_for: new Date(run.scheduledFor).toISOString(),
        },
        executionConfig: job.executionConfig,
        dispatchConfig: job.dispatchConfig,
        dedupeKey: run.id,
        dedupeScope: "job-run",
      });
      await store.jobRuns.setTask(run.id, sessionId, r.taskId);
    } catch (err) {
      if (err instanceof SessionNotFoundError) {
        await this.#settle(run, "skipped", "target_deleted");
      } else if (
        err instanceof UnknownBotError ||
        err instanceof InvalidInputError ||
        err instanceof InvalidDispatchConfigError
      ) {
        await this.#settle(run, "failed", err.message);
      } else throw err;
    }
  }
}
