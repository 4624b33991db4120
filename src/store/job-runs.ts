/**
 * Job runs: one row per firing of a job, UNIQUE per (job_id, scheduled_for), so a slot
 * fired by two instances leaves one row (the insert that loses the conflict does nothing).
 * A run's status is stored only while it has no task (`queued` before the injection,
 * `skipped`, `failed`); once it has a task, its status is read from the task
 * ({@link runStatus}), so it can never disagree with it.
 */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import type { Database, JobRunStoredStatus, JobRunsTable, TaskStatus } from "./schema.ts";

/** A run's status as the API shows it. */
export type JobRunStatus = "queued" | "running" | "complete" | "failed" | "skipped";

/** A job run as the code sees it. */
export interface JobRun {
  id: string;
  jobId: string;
  /** The slot it stands for (ms since epoch). */
  scheduledFor: number;
  /** How many slots it stands for (more than 1 for a run after downtime). */
  covers: number;
  /** A run-now (`POST /jobs/{id}/run`). */
  manual: boolean;
  status: JobRunStatus;
  /** Why it was skipped or failed: `missed`, `overlap`, `disabled`, `target_ended`, `target_deleted`, or an error. */
  reason: string | null;
  sessionId: string | null;
  taskId: string | null;
  createdAt: number;
}

/** What {@link JobRunRepository.insert} writes. */
export interface NewJobRun {
  jobId: string;
  scheduledFor: number;
  covers?: number;
  manual?: boolean;
  status: JobRunStoredStatus;
  reason?: string | null;
  sessionId?: string | null;
  /** Creation time (ms); the scheduler's clock. */
  createdAt: number;
}

/** The status of a run: its stored one, or, once it has a task, the task's. */
export function runStatus(stored: JobRunStoredStatus, task: TaskStatus | null): JobRunStatus {
  if (stored !== "queued" || task === null) return stored;
  if (task === "pending") return "queued";
  if (task === "running") return "running";
  if (task === "complete") return "complete";
  return "failed"; // failed or cancelled
}

type Row = JobRunsTable & { task_status: TaskStatus | null };

function toRun(r: Row): JobRun {
  return {
    id: r.id,
    jobId: r.job_id,
    scheduledFor: Number(r.scheduled_for),
    covers: Number(r.covers),
    manual: Number(r.manual) === 1,
    status: runStatus(r.status, r.task_status),
    reason: r.reason,
    sessionId: r.session_id,
    taskId: r.task_id,
    createdAt: Number(r.created_at),
  };
}

/** Job runs. */
export class JobRunRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  #select() {
    return this.#db
      .selectFrom("job_runs as r")
      .leftJoin("tasks as t", "t.id", "r.task_id")
      .selectAll("r")
      .select("t.status as task_status");
  }

  /**
   * Inserts a run unless one exists for (job, slot).
   * @returns the run, or undefined when the slot already has one (another instance fired it)
   */
  async insert(n: NewJobRun): Promise<JobRun | undefined> {
    const row: JobRunsTable = {
      id: uuidv7(),
      job_id: n.jobId,
      scheduled_for: n.scheduledFor,
      covers: n.covers ?? 1,
      manual: n.manual ? 1 : 0,
      status: n.status,
      reason: n.reason ?? null,
      session_id: n.sessionId ?? null,
      task_id: null,
      created_at: n.createdAt,
    };
    const r = await this.#db
      .insertInto("job_runs")
      .values(row)
      .onConflict((oc) => oc.columns(["job_id", "scheduled_for"]).doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
    return toRun({ ...row, task_status: null });
  }

  /** The run with this id, or undefined. */
  async get(id: string): Promise<JobRun | undefined> {
    const r = await this.#select().where("r.id", "=", id).executeTakeFirst();
    return r ? toRun(r as Row) : undefined;
  }

  /** The run of (job, slot), or undefined. */
  async ofSlot(jobId: string, scheduledFor: number): Promise<JobRun | undefined> {
    const r = await this.#select()
      .where("r.job_id", "=", jobId)
      .where("r.scheduled_for", "=", scheduledFor)
      .executeTakeFirst();
    return r ? toRun(r as Row) : undefined;
  }

  /** A job's runs, newest slot first, at most `limit`. */
  async list(jobId: string, limit: number): Promise<JobRun[]> {
    const rows = await this.#select()
      .where("r.job_id", "=", jobId)
      .orderBy("r.scheduled_for", "desc")
      .orderBy("r.id", "desc")
      .limit(limit)
      .execute();
    return (rows as Row[]).map(toRun);
  }

  /** Whether a run of the job is still queued or running (its task pending or running, or not yet made). */
  async hasActive(jobId: string): Promise<boolean> {
    const r = await this.#db
      .selectFrom("job_runs as r")
      .leftJoin("tasks as t", "t.id", "r.task_id")
      .select("r.id")
      .where("r.job_id", "=", jobId)
      .where("r.status", "=", "queued")
      .where((eb) =>
        eb.or([eb("r.task_id", "is", null), eb("t.status", "in", ["pending", "running"])]),
      )
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** How many runs each job has in each status (as {@link runStatus} reads it). */
  async countByJobAndStatus(): Promise<
    Array<{ jobId: string; status: JobRunStatus; count: number }>
  > {
    const rows = await this.#db
      .selectFrom("job_runs as r")
      .leftJoin("tasks as t", "t.id", "r.task_id")
      .select((eb) => ["r.job_id", "r.status", "t.status as task_status", eb.fn.countAll().as("n")])
      .groupBy(["r.job_id", "r.status", "t.status"])
      .execute();
    const sums = new Map<string, { jobId: string; status: JobRunStatus; count: number }>();
    for (const r of rows) {
      const status = runStatus(r.status, r.task_status);
      const key = `${r.job_id}\0${status}`;
      const e = sums.get(key) ?? { jobId: r.job_id, status, count: 0 };
      e.count += Number(r.n);
      sums.set(key, e);
    }
    return [...sums.values()];
  }

  /** The newest run's creation time (ms, scheduler clock) of every job that has runs. */
  async lastRunByJob(): Promise<Array<{ jobId: string; lastRunAt: number }>> {
    const rows = await this.#db
      .selectFrom("job_runs")
      .select((eb) => ["job_id", eb.fn.max("created_at").as("last")])
      .groupBy("job_id")
      .execute();
    return rows.map((r) => ({ jobId: r.job_id, lastRunAt: Number(r.last) }));
  }

  /** Records the session and task a run injected. */
  async setTask(id: string, sessionId: string, taskId: string | null): Promise<void> {
    await this.#db
      .updateTable("job_runs")
      .set({ session_id: sessionId, task_id: taskId })
      .where("id", "=", id)
      .execute();
  }

  /** Ends a run that made no task: skipped or failed, with the reason. */
  async settle(id: string, status: "skipped" | "failed", reason: string): Promise<void> {
    await this.#db
      .updateTable("job_runs")
      .set({ status, reason })
      .where("id", "=", id)
      .where("task_id", "is", null)
      .execute();
  }

  /**
   * Queued runs without a task created before `before` (ms): an instance stopped between
   * recording a run and injecting it. Injecting again is safe: the injection is deduped by
   * the run's id.
   */
  async unfinished(before: number, limit: number): Promise<JobRun[]> {
    const rows = await this.#select()
      .where("r.status", "=", "queued")
      .where("r.task_id", "is", null)
      .where("r.created_at", "<", before)
      .orderBy("r.created_at")
      .limit(limit)
      .execute();
    return (rows as Row[]).map(toRun);
  }
}
