/**
 * Tasks: one agent run each. This module is the queue's storage: inserts, listings and
 * conditional completion; the lease queries (claims, renewal, release, expiry) are in
 * `./task-leases.ts`. The rules that use them (per-session order, attempts, timeouts) live
 * in `src/tasks/`.
 */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import type { ExecutionConfig } from "../sdk/execution.ts";
import { fromJson, toJson } from "./json.ts";
import { olderThan, type PageRequest, startsWith } from "./keyset.ts";
import type { Database, TaskStatus, TasksTable } from "./schema.ts";

/** A task as the code sees it. */
export interface Task {
  id: string;
  sessionId: string;
  botId: string;
  messageId: string | null;
  prompt: string;
  status: TaskStatus;
  result: string | null;
  error: string | null;
  dispatchType: string;
  dispatchConfig: Record<string, unknown> | null;
  executionConfig: ExecutionConfig | null;
  callbackConfig: Record<string, unknown> | null;
  maxRunSeconds: number | null;
  attempts: number;
  maxAttempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  runAt: number;
  startedAt: number | null;
  completedAt: number | null;
  /** What the run could not honour (unknown skills or tools, a fallback model…). */
  warnings: string[];
  /** Tokens the model reported for this task, over all its steps and attempts; null before any. */
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  /** W3C `traceparent` of the work that created it (the inbound request's span), or null. */
  traceparent?: string | null;
}

/** What {@link TaskRepository.insert} needs. */
export interface NewTask {
  /** The id, when the caller made it first ({@link TaskRepository.newId}); default a new one. */
  id?: string;
  sessionId: string;
  botId: string;
  messageId?: string | null;
  prompt: string;
  dispatchType: string;
  dispatchConfig?: Record<string, unknown> | null;
  executionConfig?: ExecutionConfig | null;
  callbackConfig?: Record<string, unknown> | null;
  maxRunSeconds?: number | null;
  maxAttempts?: number;
  /** Earliest start (ms since epoch); default now. */
  runAt?: number;
  /** W3C `traceparent` of the work that creates it (`telemetry/spans.ts`); default none. */
  traceparent?: string | null;
}

/** Converts a row (as returned by selectAll or RETURNING *) to a {@link Task}. */
export function toTask(r: TasksTable): Task {
  return {
    id: r.id,
    sessionId: r.session_id,
    botId: r.bot_id,
    messageId: r.message_id,
    prompt: r.prompt,
    status: r.status,
    result: r.result,
    error: r.error,
    dispatchType: r.dispatch_type,
    dispatchConfig: fromJson(r.dispatch_config, null),
    executionConfig: fromJson(r.execution_config, null),
    callbackConfig: fromJson(r.callback_config, null),
    maxRunSeconds: r.max_run_seconds,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at == null ? null : Number(r.lease_expires_at),
    createdAt: Number(r.created_at),
    runAt: Number(r.run_at),
    startedAt: r.started_at == null ? null : Number(r.started_at),
    completedAt: r.completed_at == null ? null : Number(r.completed_at),
    warnings: fromJson(r.warnings, []),
    inputTokens: r.input_tokens == null ? null : Number(r.input_tokens),
    outputTokens: r.output_tokens == null ? null : Number(r.output_tokens),
    totalTokens: r.total_tokens == null ? null : Number(r.total_tokens),
    traceparent: r.traceparent ?? null,
  };
}

/** `callback_config.parent_task_id` when it is a string, else null. */
function parentTaskIdOf(c: Record<string, unknown> | null | undefined): string | null {
  const id = c?.parent_task_id;
  return typeof id === "string" && id ? id : null;
}

/** The row of a new pending task, created at `now` (ms). */
function newTaskRow(t: NewTask, now: number): TasksTable {
  return {
    id: t.id ?? uuidv7(),
    session_id: t.sessionId,
    bot_id: t.botId,
    message_id: t.messageId ?? null,
    prompt: t.prompt,
    status: "pending",
    result: null,
    error: null,
    dispatch_type: t.dispatchType,
    dispatch_config: toJson(t.dispatchConfig),
    execution_config: toJson(t.executionConfig),
    callback_config: toJson(t.callbackConfig),
    max_run_seconds: t.maxRunSeconds ?? null,
    attempts: 0,
    max_attempts: t.maxAttempts ?? 3,
    lease_owner: null,
    lease_expires_at: null,
    created_at: now,
    run_at: t.runAt ?? now,
    started_at: null,
    completed_at: null,
    warnings: null,
    parent_task_id: parentTaskIdOf(t.callbackConfig),
    traceparent: t.traceparent ?? null,
  };
}

/** Final states a task can be moved to by {@link TaskRepository.finish}. */
export interface TaskFinal {
  status: "complete" | "failed" | "cancelled";
  result?: string | null;
  error?: string | null;
}

/** What {@link TaskRepository.list} selects; every field narrows. */
export interface TaskFilter extends PageRequest {
  botId?: string;
  sessionId?: string;
  /** The task's session's client_id starts with this (exact case). */
  clientIdPrefix?: string;
  status?: TaskStatus;
}

/** The task queue's storage. */
export class TaskRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** A new task id (UUIDv7), for {@link NewTask.id}: a caller that must name it before the insert. */
  newId(): string {
    return uuidv7();
  }

  /** Inserts a pending task. */
  async insert(t: NewTask): Promise<Task> {
    const [task] = await this.insertMany([t]);
    return task!;
  }

  /**
   * Inserts pending tasks in one statement; returns them in the order given (none for none).
   * At most a few hundred (24 parameters a row; a statement's are bounded: 65,535 on
   * PostgreSQL, 32,766 on SQLite).
   */
  async insertMany(ts: NewTask[]): Promise<Task[]> {
    if (ts.length === 0) return [];
    const now = Date.now();
    const rows = ts.map((t) => newTaskRow(t, now));
    await this.#db.insertInto("tasks").values(rows).execute();
    return rows.map(toTask);
  }

  /** Tasks matching `f`, newest first by (created_at, id), at most `f.limit`. */
  async list(f: TaskFilter): Promise<Task[]> {
    let q = this.#db.selectFrom("tasks").selectAll();
    if (f.botId !== undefined) q = q.where("bot_id", "=", f.botId);
    if (f.sessionId !== undefined) q = q.where("session_id", "=", f.sessionId);
    if (f.status !== undefined) q = q.where("status", "=", f.status);
    const prefix = f.clientIdPrefix;
    if (prefix !== undefined) {
      q = q.where("session_id", "in", (eb) =>
        eb.selectFrom("sessions").select("id").where(startsWith("client_id", prefix)),
      );
    }
    if (f.since !== undefined) q = q.where("created_at", ">=", f.since);
    const after = f.after;
    if (after) q = q.where((eb) => olderThan(eb, after));
    const rows = await q
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(f.limit)
      .execute();
    return rows.map(toTask);
  }

  /**
   * Tasks created, started or finished at or after `since` (ms), oldest change first, at
   * most `limit`: what a live view polls to see status changes made by any instance.
   */
  async listChangedSince(since: number, limit: number): Promise<Task[]> {
    const rows = await this.#db
      .selectFrom("tasks")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb("created_at", ">=", since),
          eb("started_at", ">=", since),
          eb("completed_at", ">=", since),
        ]),
      )
      .orderBy("created_at", "asc")
      .orderBy("id", "asc")
      .limit(limit)
      .execute();
    return rows.map(toTask);
  }

  /** The task with this id, or undefined. */
  async get(id: string): Promise<Task | undefined> {
    const r = await this.#db
      .selectFrom("tasks")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return r ? toTask(r) : undefined;
  }

  /**
   * Moves a task to a final status, only if it is still in one of `from` (and, when `owner`
   * is given, still leased by it). Returns false when someone else got there first (a
   * cancel, or an expired lease taken over), in which case the caller must not deliver.
   * A task that finished drops its parked turn (`turn_checkpoints`): nothing resumes it.
   */
  async finish(
    id: string,
    final: TaskFinal,
    guard: { from: TaskStatus[]; owner?: string },
  ): Promise<boolean> {
    let q = this.#db
      .updateTable("tasks")
      .set({
        status: final.status,
        result: final.result ?? null,
        error: final.error ?? null,
        lease_owner: null,
        lease_expires_at: null,
        completed_at: Date.now(),
      })
      .where("id", "=", id)
      .where("status", "in", guard.from);
    if (guard.owner) q = q.where("lease_owner", "=", guard.owner);
    const r = await q.executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await this.#db.deleteFrom("turn_checkpoints").where("task_id", "=", id).execute();
    return true;
  }

  /** Records what a run could not honour on its task (replaces the earlier list). */
  async setWarnings(id: string, warnings: string[]): Promise<void> {
    await this.#db
      .updateTable("tasks")
      .set({ warnings: warnings.length ? JSON.stringify(warnings) : null })
      .where("id", "=", id)
      .execute();
  }

  /** How many tasks a task's `delegate` calls made (`callback_config.parent_task_id`). */
  async countChildren(parentTaskId: string): Promise<number> {
    const r = await this.#db
      .selectFrom("tasks")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("parent_task_id", "=", parentTaskId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** How many tasks are in each status (statuses with none are absent). */
  async countByStatus(): Promise<Array<{ status: TaskStatus; count: number }>> {
    const rows = await this.#db
      .selectFrom("tasks")
      .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy("status")
      .execute();
    return rows.map((r) => ({ status: r.status, count: Number(r.n) }));
  }

  /** Pending tasks that are due to run at `now` (ms since the epoch). */
  async countDue(now: number): Promise<number> {
    const r = await this.#db
      .selectFrom("tasks")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("status", "=", "pending")
      .where("run_at", "<=", now)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
