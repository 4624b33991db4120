/**
 * The session service (DESIGN §2 `sessions/`): get-or-create, end, and the ONE
 * `injectMessage` by which a message enters a session (REST, integration routers, the
 * internal dispatcher, later adapters and the scheduler). Every state change is written in
 * one transaction with the outbox rows that report it (`session.start`, `session.end`,
 * `task.created`), so an event is sent if and only if its change committed; the caller
 * can acknowledge once a call returns.
 */
import type { ExecutionConfig } from "../sdk/execution.ts";
import type { Repositories, Store } from "../store/index.ts";
import type { MessageRole } from "../store/messages.ts";
import type { Session } from "../store/sessions.ts";
import { currentTraceparent } from "../telemetry/spans.ts";
import {
  InvalidDispatchConfigError,
  InvalidInputError,
  SessionNotFoundError,
  UnknownBotError,
} from "./errors.ts";
import { type InjectJob, type RouteDecision, type RouteReads, writeJobs } from "./inject-batch.ts";
import {
  type InjectPlan,
  planInjection,
  type TaskCreatedRows,
  type Written,
} from "./inject-write.ts";
import {
  checkClientId,
  checkDispatchConfig,
  checkExecutionConfig,
  checkMessage,
} from "./validate.ts";

/** Options of {@link SessionService.injectMessage}. */
export interface InjectOptions {
  content: string;
  role?: MessageRole;
  /** Where it came from (`api`, an integration name, `internal`…); stored in metadata.source. */
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
   * Ids of attachments already stored in this session's scope that the message carries;
   * checked and described (`metadata.attachments`) through the service's
   * `describeAttachments`.
   */
  attachments?: string[];
  /**
   * The sender's delivery id (a webhook delivery header, an event or update id, an outbox
   * delivery id). Recorded under `source` in the same transaction as the message, so a
   * second injection with the same (source, key) creates nothing and reports
   * `duplicate: true`, even when both race. Keys are kept {@link RECEIPT_RETENTION_MS}.
   */
  dedupeKey?: string;
  /**
   * Where `dedupeKey` is unique (the receipt's source); default `source`. REST's
   * Idempotency-Key uses one scope per API key and session.
   */
  dedupeScope?: string;
  /**
   * A digest of the request that carries `dedupeKey`. A repeat whose fingerprint differs
   * from the first one's throws {@link DedupeKeyReusedError} instead of answering with the
   * first one's ids.
   */
  dedupeFingerprint?: string;
}

export type { RouteDecision, RouteReads } from "./inject-batch.ts";

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

/**
 * The outbox rows that report session changes (event deliveries), written inside the
 * transaction of the change so they commit with it or not at all. `prepare` runs before
 * the transaction (to load what the writers need without reading inside it); each writer
 * returns how many outbox rows it wrote.
 */
export interface SessionOutboxRows {
  prepare(): Promise<void>;
  /** `session.start` of a session this transaction created. */
  sessionStarted(tx: Repositories, session: Session): Promise<number>;
  /** `session.end` of a session this transaction ended (`endedAt` is set). */
  sessionEnded(tx: Repositories, session: Session): Promise<number>;
  /** `task.created` of a task this transaction created. */
  taskCreated: TaskCreatedRows;
}

/** What a {@link SessionService} is built from. */
export interface SessionServiceOptions {
  store: Store;
  /** Called after a new task was committed (wakes the task worker); must not throw. */
  onTaskCreated: (sessionId: string, task: { id: string; botId: string }) => void;
  /** Called after outbox rows were committed (wakes the delivery worker); must not throw. */
  onOutboxRows?: () => void;
  /** The event rows written with each change; none when absent. */
  rows?: SessionOutboxRows;
  /**
   * Checks a dispatch config with its dispatcher before anything is stored (null when
   * usable, else the reason); none when absent.
   */
  checkDispatch?: (type: string, config: Record<string, unknown>) => Promise<string | null>;
  /**
   * Describes the attachments a message carries (what `metadata.attachments` keeps), each
   * looked up in the session's scope.
   * @throws InvalidInputError naming `attachments[i]` for an id the session does not own
   */
  describeAttachments?: (sessionId: string, ids: string[]) => Promise<Record<string, unknown>[]>;
}

/** Creates, ends and writes into sessions. */
export class SessionService {
  readonly #o: SessionServiceOptions;
  readonly #store: Store;
  #lastReceiptPrune = 0;
  /**
   * The group-commit bulk work of every injection: one call writes the jobs of a batch (its
   * routes read first, then all messages, tasks and receipts in a few statements).
   */
  readonly #writeJobs = (tx: Repositories, jobs: InjectJob[]) =>
    writeJobs(tx, jobs, this.#o.rows?.taskCreated);

  constructor(opts: SessionServiceOptions) {
    this.#o = opts;
    this.#store = opts.store;
  }

  /** The session with this id, or undefined. */
  get(id: string): Promise<Session | undefined> {
    return this.#store.sessions.get(id);
  }

  /**
   * Returns the session of (botId, clientId), creating it (with its `session.start` rows,
   * in one transaction) when absent. Safe under concurrent callers: exactly one reports
   * `created: true`. An existing session's dispatch_config is replaced when one is given.
   * @throws UnknownBotError when `botId` names no bot
   * @throws InvalidInputError when `clientId` is not a usable client id, or `dispatchConfig`
   *   does not fit the schema of its type
   */
  async getOrCreate(
    botId: string,
    clientId: string,
    dispatchConfig?: Record<string, unknown> | null,
  ): Promise<{ session: Session; created: boolean }> {
    checkClientId(clientId);
    if (dispatchConfig != null) {
      checkDispatchConfig(
        typeof dispatchConfig.type === "string" ? dispatchConfig.type : "none",
        dispatchConfig,
      );
    }
    if (!(await this.#store.bots.get(botId))) throw new UnknownBotError(botId);
    if (dispatchConfig && typeof dispatchConfig.type === "string") {
      await this.#checkDispatch(dispatchConfig.type, dispatchConfig);
    }
    const rows = this.#o.rows;
    await rows?.prepare();
    let written = 0;
    const r = await this.#store.transaction(async (tx) => {
      const got = await tx.sessions.getOrCreate(botId, clientId, dispatchConfig);
      if (got.created && rows) written = await rows.sessionStarted(tx, got.session);
      return got;
    });
    if (written > 0) this.#o.onOutboxRows?.();
    return r;
  }

  /**
   * Ends the session: sets `ended_at` once, with its `session.end` rows in the same
   * transaction. Of concurrent calls exactly one reports `ended: true` (and writes the
   * event); the others return the session as it was ended.
   * @throws SessionNotFoundError when the session does not exist
   */
  async end(sessionId: string): Promise<{ session: Session; ended: boolean }> {
    const rows = this.#o.rows;
    await rows?.prepare();
    let written = 0;
    const r = await this.#store.transaction(async (tx) => {
      const got = await tx.sessions.end(sessionId);
      if (got?.ended && rows) written = await rows.sessionEnded(tx, got.session);
      return got;
    });
    if (!r) throw new SessionNotFoundError(sessionId);
    if (written > 0) this.#o.onOutboxRows?.();
    return r;
  }

  /**
   * Stores a message in `sessionId` and, with `runAgent`, a pending task for it (with its
   * `task.created` rows), in one transaction; with `dedupeKey`, a repeat is a no-op.
   * @throws SessionNotFoundError when the session does not exist
   * @throws DedupeKeyReusedError when `dedupeKey` was used before with another `dedupeFingerprint`
   * @throws InvalidInputError when the content, role, metadata, execution config or the
   *   given dispatch config (against the schema of its type) is not acceptable
   */
  async injectMessage(sessionId: string, opts: InjectOptions): Promise<InjectResult> {
    checkMessage(opts);
    checkExecutionConfig(opts.executionConfig);
    const given = opts.dispatchConfig;
    if (given != null) {
      checkDispatchConfig(
        opts.dispatchType ?? (typeof given.type === "string" ? given.type : "none"),
        given,
      );
    }
    const session = await this.#store.sessions.get(sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    const files = opts.attachments?.length
      ? await this.#describeAttachments(sessionId, opts.attachments)
      : undefined;
    const plan = planInjection(
      session,
      files ? { ...opts, metadata: { ...opts.metadata, attachments: files } } : opts,
    );
    if (plan.runAgent && plan.dispatchType !== "none") {
      await this.#checkDispatch(plan.dispatchType, plan.dispatchConfig ?? {});
    }
    const rows = this.#o.rows;
    if (plan.runAgent) await rows?.prepare();
    // Group commit: this transaction may be shared with concurrent injections and run again
    // alone when a neighbour fails, so it only writes through `tx` and returns what it did.
    const out = await this.#store.groupBulk(this.#writeJobs, { plan });
    if ("skip" in out) throw new Error("a planned injection was skipped");
    return this.#afterInject(plan, out.written);
  }

  /**
   * Injects a message whose session (and whether it is stored at all) is decided inside the
   * transaction by `route`, from rows read there ({@link RouteReads}): an adapter's message,
   * whose conversation names the channel, the bot and the open session. Reading inside the
   * (shared) transaction costs a fraction of separate reads, and the routes of one batch
   * share them. `route` returns `{skip}` to write nothing (the caller gets `skip` back), or
   * the session and the message, and the channel it came through (whose active session
   * follows the last message stored through it). Like every group-commit work,
   * `route` only reads and may run twice.
   * @param dispatch where a turn's reply goes: checked (schema and dispatcher) before the
   *   transaction, used for every message `route` stores
   * @throws InvalidInputError, DedupeKeyReusedError as {@link injectMessage}; whatever
   *   `route` throws
   */
  async injectRouted<S>(
    dispatch: { type: string; config: Record<string, unknown> },
    route: (reads: RouteReads) => Promise<RouteDecision<S>>,
  ): Promise<{ skip: S } | InjectResult> {
    checkDispatchConfig(dispatch.type, dispatch.config);
    await this.#checkDispatch(dispatch.type, dispatch.config);
    await this.#o.rows?.prepare();
    // Taken here: the shared transaction may run in another caller's context.
    const traceparent = currentTraceparent();
    const out = await this.#store.groupBulk(this.#writeJobs, { route, dispatch, traceparent });
    if ("skip" in out) return out as { skip: S };
    return this.#afterInject(out.plan, out.written);
  }

  /** After the commit: wakes the workers, prunes old receipts; returns the caller's result. */
  #afterInject(plan: InjectPlan, w: Written): InjectResult {
    if (w.taskId && !w.duplicate) {
      this.#o.onTaskCreated(plan.sessionId, { id: w.taskId, botId: plan.botId });
    }
    if (w.outboxRows > 0) this.#o.onOutboxRows?.();
    if (plan.receipt) this.#pruneReceipts();
    return {
      messageId: w.messageId,
      sessionId: w.sessionId,
      taskId: w.taskId,
      duplicate: w.duplicate,
    };
  }

  /** Drops receipts past retention, at most once an hour per process (never awaited). */
  #pruneReceipts(): void {
    const now = Date.now();
    if (now - this.#lastReceiptPrune < 3600_000) return;
    this.#lastReceiptPrune = now;
    this.#store.receipts.prune(now - RECEIPT_RETENTION_MS).catch(() => {});
  }

  async #describeAttachments(sessionId: string, ids: string[]) {
    if (!this.#o.describeAttachments) {
      throw new InvalidInputError("attachments", "this server keeps no attachments");
    }
    return this.#o.describeAttachments(sessionId, ids);
  }

  /** @throws InvalidDispatchConfigError when the dispatcher of `type` refuses `config` */
  async #checkDispatch(type: string, config: Record<string, unknown>): Promise<void> {
    const reason = await this.#o.checkDispatch?.(type, config);
    if (reason) throw new InvalidDispatchConfigError(reason);
  }
}
