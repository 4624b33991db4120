/**
 * Jobs: schedules that inject a message (docs/jobs.md). The scheduler claims a due slot by
 * compare-and-set on `next_run_at` ({@link JobRepository.claim}), so of several instances
 * exactly one moves a job past a slot.
 */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import type { ExecutionConfig } from "../sdk/execution.ts";
import type { JobMissedPolicy, JobOverlapPolicy, JobSchedule } from "../sdk/jobs.ts";
import { fromJson, toJson } from "./json.ts";
import type { Database, JobsTable } from "./schema.ts";

/** A job's target once normalised: a session, or the session of (bot, client id). */
export type StoredJobTarget = { session_id: string } | { bot_id: string; client_id: string };

/** A job as the code sees it. */
export interface Job {
  id: string;
  name: string;
  schedule: JobSchedule;
  target: StoredJobTarget;
  prompt: string;
  executionConfig: ExecutionConfig | null;
  dispatchConfig: Record<string, unknown> | null;
  enabled: boolean;
  missed: JobMissedPolicy;
  overlap: JobOverlapPolicy;
  /** The next slot (ms since epoch), or null when the job will not fire again. */
  nextRunAt: number | null;
  /** The integration whose jobs.ts declares it; null for a job made through the API. */
  integration: string | null;
  /** SHA-256 of its declaration (integration jobs only). */
  definitionHash: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The fields a job is written with. */
export interface JobFields {
  name: string;
  schedule: JobSchedule;
  target: StoredJobTarget;
  prompt: string;
  executionConfig: ExecutionConfig | null;
  dispatchConfig: Record<string, unknown> | null;
  enabled: boolean;
  missed: JobMissedPolicy;
  overlap: JobOverlapPolicy;
  nextRunAt: number | null;
}

function toJob(r: JobsTable): Job {
  return {
    id: r.id,
    name: r.name,
    schedule: fromJson(r.schedule, { every_seconds: 60 }),
    target: fromJson(r.target, { session_id: "" }),
    prompt: r.prompt,
    executionConfig: fromJson(r.execution_config, null),
    dispatchConfig: fromJson(r.dispatch_config, null),
    enabled: Number(r.enabled) === 1,
    missed: r.missed as JobMissedPolicy,
    overlap: r.overlap as JobOverlapPolicy,
    nextRunAt: r.next_run_at == null ? null : Number(r.next_run_at),
    integration: r.integration,
    definitionHash: r.definition_hash,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function columns(f: Partial<JobFields>): Partial<JobsTable> {
  const c: Partial<JobsTable> = {};
  if (f.name !== undefined) c.name = f.name;
  if (f.schedule !== undefined) c.schedule = JSON.stringify(f.schedule);
  if (f.target !== undefined) c.target = JSON.stringify(f.target);
  if (f.prompt !== undefined) c.prompt = f.prompt;
  if (f.executionConfig !== undefined) c.execution_config = toJson(f.executionConfig);
  if (f.dispatchConfig !== undefined) c.dispatch_config = toJson(f.dispatchConfig);
  if (f.enabled !== undefined) c.enabled = f.enabled ? 1 : 0;
  if (f.missed !== undefined) c.missed = f.missed;
  if (f.overlap !== undefined) c.overlap = f.overlap;
  if (f.nextRunAt !== undefined) c.next_run_at = f.nextRunAt;
  return c;
}

/** Jobs. */
export class JobRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Inserts a job (an API job unless `integration` is given). */
  async insert(
    f: JobFields,
    decl: { integration: string; definitionHash: string } | null = null,
  ): Promise<Job> {
    const now = Date.now();
    const row: JobsTable = {
      id: uuidv7(),
      name: f.name,
      schedule: JSON.stringify(f.schedule),
      target: JSON.stringify(f.target),
      prompt: f.prompt,
      execution_config: toJson(f.executionConfig),
      dispatch_config: toJson(f.dispatchConfig),
      enabled: f.enabled ? 1 : 0,
      missed: f.missed,
      overlap: f.overlap,
      next_run_at: f.nextRunAt,
      integration: decl?.integration ?? null,
      definition_hash: decl?.definitionHash ?? null,
      created_at: now,
      updated_at: now,
    };
    await this.#db.insertInto("jobs").values(row).execute();
    return toJob(row);
  }

  /**
   * Inserts a declared job unless (integration, name) exists: safe when several instances
   * sync at once (the unique index decides).
   * @returns true when this call inserted it
   */
  async insertDeclared(
    f: JobFields,
    decl: { integration: string; definitionHash: string },
  ): Promise<boolean> {
    const now = Date.now();
    const r = await this.#db
      .insertInto("jobs")
      .values({
        ...(columns(f) as JobsTable),
        id: uuidv7(),
        integration: decl.integration,
        definition_hash: decl.definitionHash,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(["integration", "name"]).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** The job with this id, or undefined. */
  async get(id: string): Promise<Job | undefined> {
    const r = await this.#db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
    return r ? toJob(r) : undefined;
  }

  /** Jobs, newest first, at most `limit`; only one integration's when given. */
  async list(f: { integration?: string; limit: number }): Promise<Job[]> {
    let q = this.#db.selectFrom("jobs").selectAll();
    if (f.integration !== undefined) q = q.where("integration", "=", f.integration);
    const rows = await q
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(f.limit)
      .execute();
    return rows.map(toJob);
  }

  /** Every job an integration declared (its jobs.ts), by name. */
  async declared(): Promise<Job[]> {
    const rows = await this.#db
      .selectFrom("jobs")
      .selectAll()
      .where("integration", "is not", null)
      .execute();
    return rows.map(toJob);
  }

  /**
   * Writes the given fields (and `definitionHash` when given).
   * @returns the job as written, or undefined when it does not exist
   */
  async update(
    id: string,
    f: Partial<JobFields>,
    definitionHash?: string | null,
  ): Promise<Job | undefined> {
    const set: Partial<JobsTable> = { ...columns(f), updated_at: Date.now() };
    if (definitionHash !== undefined) set.definition_hash = definitionHash;
    await this.#db.updateTable("jobs").set(set).where("id", "=", id).execute();
    return this.get(id);
  }

  /** Deletes a job and its runs; false when it did not exist. */
  async delete(id: string): Promise<boolean> {
    await this.#db.deleteFrom("job_runs").where("job_id", "=", id).execute();
    const r = await this.#db.deleteFrom("jobs").where("id", "=", id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Enabled jobs whose `next_run_at` is at or before `now`, earliest first, at most `limit`. */
  async due(now: number, limit: number): Promise<Job[]> {
    const rows = await this.#db
      .selectFrom("jobs")
      .selectAll()
      .where("enabled", "=", 1)
      .where("next_run_at", "<=", now)
      .orderBy("next_run_at")
      .limit(limit)
      .execute();
    return rows.map(toJob);
  }

  /** The earliest `next_run_at` of an enabled job (ms), or null when none will fire. */
  async earliestDue(): Promise<number | null> {
    const r = await this.#db
      .selectFrom("jobs")
      .select((eb) => eb.fn.min("next_run_at").as("t"))
      .where("enabled", "=", 1)
      .executeTakeFirst();
    return r?.t == null ? null : Number(r.t);
  }

  /**
   * Moves an enabled job from the slot `from` to `to` (null: never again; `disable` also
   * clears `enabled`, for a one-shot that fired), only if its `next_run_at` is still
   * `from`: a compare-and-set, so of concurrent claimers of one slot exactly one gets true.
   */
  async claim(id: string, from: number, to: number | null, disable = false): Promise<boolean> {
    const set: Partial<JobsTable> = { next_run_at: to };
    if (disable) set.enabled = 0;
    const r = await this.#db
      .updateTable("jobs")
      .set(set)
      .where("id", "=", id)
      .where("enabled", "=", 1)
      .where("next_run_at", "=", from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
