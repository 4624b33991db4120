/**
 * Approvals (issue 13): tool calls waiting for a person, and the parked turns they hold.
 * Every change of state is a compare-and-set on the row, so exactly one decision wins
 * whichever instance makes it; a parked task (`waiting_approval`) holds no lease and
 * nothing about it lives in memory. The rules live in `src/approvals/`.
 */
import type { Kysely } from "kysely";
import type { ApprovalStatus, ApprovalsTable, TurnCheckpointsTable } from "./approval-tables.ts";
import type { Dialect } from "./db.ts";
import { fromJson } from "./json.ts";
import type { PageRequest } from "./keyset.ts";
import type { Database } from "./schema.ts";

export type { ApprovalStatus } from "./approval-tables.ts";

/** An approval as the code sees it. Times in ms since the epoch. */
export interface Approval {
  id: string;
  taskId: string;
  sessionId: string;
  botId: string;
  tool: string;
  toolCallId: string;
  /** The AI SDK's approval id the turn resumes with. */
  sdkApprovalId: string;
  args: unknown;
  status: ApprovalStatus;
  requestedAt: number;
  expiresAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
  /** The adapter's post id of the request message, once sent. */
  requestPost: string | null;
  /** When the approved call started running. */
  executedAt: number | null;
}

/** What {@link ApprovalRepository.insert} takes. */
export type NewApproval = Pick<
  Approval,
  | "id"
  | "taskId"
  | "sessionId"
  | "botId"
  | "tool"
  | "toolCallId"
  | "sdkApprovalId"
  | "args"
  | "requestedAt"
  | "expiresAt"
>;

/** A parked turn: what resuming it needs. */
export interface TurnCheckpoint {
  taskId: string;
  /** The AI SDK's ModelMessages so far (JSON values). */
  messages: unknown[];
  model: string;
  steps: number;
  toolCalls: number;
}

/** What {@link ApprovalRepository.list} selects; every field narrows. Newest first. */
export interface ApprovalFilter extends PageRequest {
  status?: ApprovalStatus;
  taskId?: string;
  sessionId?: string;
}

function toApproval(r: ApprovalsTable): Approval {
  return {
    id: r.id,
    taskId: r.task_id,
    sessionId: r.session_id,
    botId: r.bot_id,
    tool: r.tool,
    toolCallId: r.tool_call_id,
    sdkApprovalId: r.sdk_approval_id,
    args: fromJson(r.args, null),
    status: r.status,
    requestedAt: Number(r.requested_at),
    expiresAt: Number(r.expires_at),
    decidedBy: r.decided_by,
    decidedAt: r.decided_at == null ? null : Number(r.decided_at),
    reason: r.reason,
    requestPost: r.request_post,
    executedAt: r.executed_at == null ? null : Number(r.executed_at),
  };
}

/** Approval rows, parked turns, and the task moves that go with them. */
export class ApprovalRepository {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  /**
   * Parks a running task: `running` (leased by `owner`) → `waiting_approval`, lease cleared.
   * False when it was no longer `owner`'s running task (cancelled, lease taken over).
   */
  async parkTask(taskId: string, owner: string): Promise<boolean> {
    const r = await this.#db
      .updateTable("tasks")
      .set({ status: "waiting_approval", lease_owner: null, lease_expires_at: null })
      .where("id", "=", taskId)
      .where("status", "=", "running")
      .where("lease_owner", "=", owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Locks the task row for the rest of the transaction (PostgreSQL `FOR UPDATE`; SQLite
   * has one writer anyway) and returns its status, or undefined when it is gone. Two
   * decisions on approvals of one task are so taken one after the other, and the second
   * sees the first's.
   */
  async lockTask(taskId: string): Promise<string | undefined> {
    let q = this.#db.selectFrom("tasks").select("status").where("id", "=", taskId);
    if (this.#dialect === "postgres") q = q.forUpdate();
    return (await q.executeTakeFirst())?.status;
  }

  /**
   * Puts a parked task back in the queue (`waiting_approval` → `pending`, due now) once
   * none of its approvals is pending. True when it moved.
   */
  async resumeTask(taskId: string, now: number): Promise<boolean> {
    const r = await this.#db
      .updateTable("tasks")
      .set({ status: "pending", run_at: now })
      .where("id", "=", taskId)
      .where("status", "=", "waiting_approval")
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom("approvals")
              .select("id")
              .where("task_id", "=", taskId)
              .where("status", "=", "pending"),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Writes (or replaces) a task's parked turn. */
  async saveCheckpoint(cp: TurnCheckpoint): Promise<void> {
    const row: TurnCheckpointsTable = {
      task_id: cp.taskId,
      messages: JSON.stringify(cp.messages),
      model: cp.model,
      steps: cp.steps,
      tool_calls: cp.toolCalls,
      updated_at: Date.now(),
    };
    const { task_id: _, ...rest } = row;
    await this.#db
      .insertInto("turn_checkpoints")
      .values(row)
      .onConflict((oc) => oc.column("task_id").doUpdateSet(rest))
      .execute();
  }

  /** The task's parked turn, or undefined. */
  async checkpoint(taskId: string): Promise<TurnCheckpoint | undefined> {
    const r = await this.#db
      .selectFrom("turn_checkpoints")
      .selectAll()
      .where("task_id", "=", taskId)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      taskId: r.task_id,
      messages: fromJson(r.messages, []),
      model: r.model,
      steps: Number(r.steps),
      toolCalls: Number(r.tool_calls),
    };
  }

  /** Inserts pending approvals. */
  async insert(list: NewApproval[]): Promise<void> {
    if (list.length === 0) return;
    await this.#db
      .insertInto("approvals")
      .values(
        list.map((a) => ({
          id: a.id,
          task_id: a.taskId,
          session_id: a.sessionId,
          bot_id: a.botId,
          tool: a.tool,
          tool_call_id: a.toolCallId,
          sdk_approval_id: a.sdkApprovalId,
          args: JSON.stringify(a.args ?? null),
          status: "pending" as const,
          requested_at: a.requestedAt,
          expires_at: a.expiresAt,
          decided_by: null,
          decided_at: null,
          reason: null,
          request_post: null,
          executed_at: null,
        })),
      )
      .execute();
  }

  /** The approval with this id, or undefined. */
  async get(id: string): Promise<Approval | undefined> {
    const r = await this.#db
      .selectFrom("approvals")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return r ? toApproval(r) : undefined;
  }

  /** A task's approvals, oldest first. */
  async listForTask(taskId: string): Promise<Approval[]> {
    const rows = await this.#db
      .selectFrom("approvals")
      .selectAll()
      .where("task_id", "=", taskId)
      .orderBy("requested_at")
      .orderBy("id")
      .execute();
    return rows.map(toApproval);
  }

  /** Approvals matching `f`, newest first by (requested_at, id), at most `f.limit`. */
  async list(f: ApprovalFilter): Promise<Approval[]> {
    let q = this.#db.selectFrom("approvals").selectAll();
    if (f.status !== undefined) q = q.where("status", "=", f.status);
    if (f.taskId !== undefined) q = q.where("task_id", "=", f.taskId);
    if (f.sessionId !== undefined) q = q.where("session_id", "=", f.sessionId);
    if (f.since !== undefined) q = q.where("requested_at", ">=", f.since);
    const after = f.after;
    if (after) {
      q = q.where((eb) =>
        eb.or([
          eb("requested_at", "<", after.createdAt),
          eb.and([eb("requested_at", "=", after.createdAt), eb("id", "<", after.id)]),
        ]),
      );
    }
    const rows = await q
      .orderBy("requested_at", "desc")
      .orderBy("id", "desc")
      .limit(f.limit)
      .execute();
    return rows.map(toApproval);
  }

  /**
   * Decides a pending approval (compare-and-set on `status = 'pending'`). Returns the
   * decided row, or undefined when it was not pending any more (the first decision stands).
   */
  async decide(
    id: string,
    d: { status: Exclude<ApprovalStatus, "pending">; decidedBy: string; reason: string | null },
    now: number,
  ): Promise<Approval | undefined> {
    const r = await this.#db
      .updateTable("approvals")
      .set({ status: d.status, decided_by: d.decidedBy, decided_at: now, reason: d.reason })
      .where("id", "=", id)
      .where("status", "=", "pending")
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return undefined;
    return this.get(id);
  }

  /**
   * Approvals requested or decided at or after `since` (ms), oldest first, at most `limit`:
   * what a live view polls to see changes made by any instance.
   */
  async listChangedSince(since: number, limit: number): Promise<Approval[]> {
    const rows = await this.#db
      .selectFrom("approvals")
      .selectAll()
      .where((eb) => eb.or([eb("requested_at", ">=", since), eb("decided_at", ">=", since)]))
      .orderBy("requested_at")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(toApproval);
  }

  /** Ids of pending approvals whose `expires_at` passed, oldest first, at most `limit`. */
  async expiredIds(now: number, limit: number): Promise<string[]> {
    const rows = await this.#db
      .selectFrom("approvals")
      .select("id")
      .where("status", "=", "pending")
      .where("expires_at", "<=", now)
      .orderBy("expires_at")
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Records the adapter's post id of the request message (first one wins). */
  async setRequestPost(id: string, postId: string): Promise<void> {
    await this.#db
      .updateTable("approvals")
      .set({ request_post: postId })
      .where("id", "=", id)
      .where("request_post", "is", null)
      .execute();
  }

  /**
   * Marks an approved call as started (compare-and-set on `executed_at IS NULL`). False
   * when it had started before (an earlier run was cut off while running it): it must not
   * run again.
   */
  async markExecuted(taskId: string, toolCallId: string, now: number): Promise<boolean> {
    const r = await this.#db
      .updateTable("approvals")
      .set({ executed_at: now })
      .where("task_id", "=", taskId)
      .where("tool_call_id", "=", toolCallId)
      .where("status", "=", "approved")
      .where("executed_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
