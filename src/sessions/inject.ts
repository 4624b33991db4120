/**
 * `injectMessage`: the one path by which a message enters a session (REST, integration
 * routers and adapters all call it). The message and, when the agent should run, its
 * task are written in one transaction; the caller can acknowledge once it returns.
 */

import type { Kysely } from "kysely";
import type { ExecutionConfig } from "../sdk/execution.ts";
import type { Store } from "../store/index.ts";
import { insertMessage, type MessageRole } from "../store/messages.ts";
import type { Database } from "../store/schema.ts";
import { insertTask } from "../store/tasks.ts";

/** Options of {@link MessageService.injectMessage}. */
export interface InjectOptions {
  content: string;
  role?: MessageRole;
  /** Where it came from (`api`, an integration name…); stored in metadata.source. */
  source?: string;
  metadata?: Record<string, unknown>;
  /** Queue an agent turn on this message (default false). */
  runAgent?: boolean;
  /** Deliver the result through the dispatcher (default true); false keeps it in the DB. */
  notify?: boolean;
  executionConfig?: ExecutionConfig | null;
  /** Where the result goes: `{type, ...}`; default the session's dispatch_config, else none. */
  dispatchConfig?: Record<string, unknown> | null;
  /** Overrides the `type` of `dispatchConfig`. */
  dispatchType?: string;
  callbackConfig?: Record<string, unknown> | null;
  /** Per-task limit (s); default TASK_MAX_RUN_SECONDS. */
  maxRunSeconds?: number | null;
  /**
   * The provider's delivery id (a webhook delivery header, an event or update id). Recorded under
   * `source` in the same transaction as the message, so a second injection with the same
   * (source, key) creates nothing and reports `duplicate: true`, even when both race.
   * Keys are kept {@link RECEIPT_RETENTION_MS}.
   */
  dedupeKey?: string;
}

/** What an injection created. */
export interface InjectResult {
  messageId: string;
  sessionId: string;
  taskId: string | null;
  /** True when `dedupeKey` was seen before: nothing was stored, ids are the first one's. */
  duplicate: boolean;
}

/** How long accepted dedupe keys are kept (7 days; providers redeliver for up to 3). */
export const RECEIPT_RETENTION_MS = 7 * 24 * 3600_000;

/** Thrown when the session does not exist. */
export class SessionNotFoundError extends Error {
  constructor() {
    super("Session not found");
  }
}

/**
 * Told about each new task after its transaction committed: its session, id and bot, and
 * how many outbox rows were written with it.
 */
export type TaskCreatedCallback = (
  sessionId: string,
  task: { id: string; botId: string },
  rows: number,
) => void;

/**
 * More rows to write in the transaction that creates a task (its `task.created` event
 * deliveries), so they commit with it or not at all. `prepare` runs before the transaction;
 * `write` returns how many outbox rows it wrote.
 */
export interface TaskCreatedRows {
  prepare(): Promise<void>;
  write(
    trx: Kysely<Database>,
    sessionId: string,
    task: { id: string; botId: string },
  ): Promise<number>;
}

/** Writes messages (and tasks) into sessions. */
export class MessageService {
  readonly #store: Store;
  readonly #onTaskCreated: TaskCreatedCallback;
  readonly #extra: TaskCreatedRows | undefined;
  #lastReceiptPrune = 0;
  /**
   * @param onTaskCreated called after a new task was committed (wakes the worker); its
   *   second argument says how many outbox rows `extra` wrote with it
   * @param extra more rows written with each new task
   */
  constructor(store: Store, onTaskCreated: TaskCreatedCallback, extra?: TaskCreatedRows) {
    this.#store = store;
    this.#onTaskCreated = onTaskCreated;
    this.#extra = extra;
  }

  /**
   * Stores a message in `sessionId` and, with `runAgent`, a pending task for it.
   * @throws SessionNotFoundError when the session does not exist
   */
  async injectMessage(sessionId: string, opts: InjectOptions): Promise<InjectResult> {
    const session = await this.#store.sessions.get(sessionId);
    if (!session) throw new SessionNotFoundError();
    const runAgent = opts.runAgent === true;
    let dispatchConfig = opts.dispatchConfig ?? session.dispatchConfig ?? null;
    let dispatchType =
      opts.dispatchType ??
      (typeof dispatchConfig?.type === "string" ? dispatchConfig.type : "none");
    if (opts.notify === false) {
      dispatchType = "none";
      dispatchConfig = null;
    }
    const source = opts.source ?? "api";
    if (runAgent) await this.#extra?.prepare();
    let extraRows = 0;
    const result = await this.#store.transaction(async (trx): Promise<InjectResult> => {
      if (opts.dedupeKey !== undefined) {
        const seen = await claimReceipt(trx, source, opts.dedupeKey);
        if (seen) return { ...seen, sessionId, duplicate: true };
      }
      const message = await insertMessage(trx, {
        sessionId,
        role: opts.role ?? "user",
        content: opts.content,
        metadata: { ...opts.metadata, source },
      });
      let taskId: string | null = null;
      if (runAgent) {
        const task = await insertTask(trx, {
          sessionId,
          botId: session.botId,
          messageId: message.id,
          prompt: opts.content,
          dispatchType,
          dispatchConfig,
          executionConfig: opts.executionConfig ?? null,
          callbackConfig: opts.callbackConfig ?? null,
          maxRunSeconds: opts.maxRunSeconds ?? null,
        });
        taskId = task.id;
        extraRows =
          (await this.#extra?.write(trx, sessionId, { id: task.id, botId: session.botId })) ?? 0;
      }
      if (opts.dedupeKey !== undefined) {
        await trx
          .updateTable("inbound_receipts")
          .set({ message_id: message.id, task_id: taskId })
          .where("source", "=", source)
          .where("key", "=", opts.dedupeKey)
          .execute();
      }
      return { messageId: message.id, sessionId, taskId, duplicate: false };
    });
    if (result.taskId && !result.duplicate) {
      this.#onTaskCreated(sessionId, { id: result.taskId, botId: session.botId }, extraRows);
    }
    if (opts.dedupeKey !== undefined) this.#pruneReceipts();
    return result;
  }

  /** Drops receipts past retention, at most once an hour per process (never awaited). */
  #pruneReceipts(): void {
    const now = Date.now();
    if (now - this.#lastReceiptPrune < 3600_000) return;
    this.#lastReceiptPrune = now;
    this.#store.k
      .deleteFrom("inbound_receipts")
      .where("created_at", "<", now - RECEIPT_RETENTION_MS)
      .execute()
      .catch(() => {});
  }
}

/**
 * Records (source, key); when it was already recorded returns the ids stored with it.
 * Under concurrency the unique key decides: PostgreSQL makes a racing insert wait for the
 * first transaction and then do nothing; SQLite serialises writers.
 */
async function claimReceipt(
  trx: Kysely<Database>,
  source: string,
  key: string,
): Promise<{ messageId: string; taskId: string | null } | undefined> {
  const inserted = await trx
    .insertInto("inbound_receipts")
    .values({ source, key, message_id: null, task_id: null, created_at: Date.now() })
    .onConflict((oc) => oc.columns(["source", "key"]).doNothing())
    .returning("key")
    .execute();
  if (inserted.length > 0) return undefined;
  const r = await trx
    .selectFrom("inbound_receipts")
    .select(["message_id", "task_id"])
    .where("source", "=", source)
    .where("key", "=", key)
    .executeTakeFirst();
  return { messageId: r?.message_id ?? "", taskId: r?.task_id ?? null };
}
