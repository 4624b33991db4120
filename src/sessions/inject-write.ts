/**
 * The transaction half of `injectMessage` (./service.ts): the receipt (dedupe at the door),
 * the message and, when a turn is wanted, the pending task with its `task.created` rows,
 * all through one transaction's repositories. Kept apart so the plain injection and the
 * routed one (the session chosen inside the transaction) write the same way.
 */
import type { ExecutionConfig } from "../sdk/execution.ts";
import type { Repositories } from "../store/index.ts";
import type { MessageRole } from "../store/messages.ts";
import type { Session } from "../store/sessions.ts";
import { currentTraceparent } from "../telemetry/spans.ts";
import { DedupeKeyReusedError } from "./errors.ts";
import type { InjectOptions } from "./service.ts";

/** What is written for one injection, decided before the transaction. */
export interface InjectPlan {
  sessionId: string;
  botId: string;
  role: MessageRole;
  content: string;
  /** The message's metadata, `source` included. */
  metadata: Record<string, unknown>;
  runAgent: boolean;
  dispatchType: string;
  dispatchConfig: Record<string, unknown> | null;
  executionConfig: ExecutionConfig | null;
  callbackConfig: Record<string, unknown> | null;
  maxRunSeconds: number | null;
  /** The dedupe receipt: scope, key and fingerprint, when the sender gave a key. */
  receipt?: { scope: string; key: string; fingerprint: string | undefined };
  /**
   * The caller's W3C `traceparent` (the inbound request's span), taken when planning: the
   * write itself may run in a shared transaction, in another caller's context.
   */
  traceparent?: string | null;
}

/** The fields of `InjectOptions` a plan is made from (attachments are described before). */
export type PlanInput = Omit<InjectOptions, "attachments"> & {
  /** The trace to store with the task; default the active span's (see {@link InjectPlan}). */
  traceparent?: string | null;
};

/**
 * The plan of injecting `opts` into `session`: the dispatch is the given one, else the
 * session's, else none (`notify: false` forces none); `source` defaults to `api` and the
 * dedupe scope to the source.
 */
export function planInjection(session: Session, opts: PlanInput): InjectPlan {
  let dispatchConfig = opts.dispatchConfig ?? session.dispatchConfig ?? null;
  let dispatchType =
    opts.dispatchType ?? (typeof dispatchConfig?.type === "string" ? dispatchConfig.type : "none");
  if (opts.notify === false) {
    dispatchType = "none";
    dispatchConfig = null;
  }
  const source = opts.source ?? "api";
  return {
    sessionId: session.id,
    botId: session.botId,
    role: opts.role ?? "user",
    content: opts.content,
    metadata: { ...opts.metadata, source },
    runAgent: opts.runAgent === true,
    dispatchType,
    dispatchConfig,
    executionConfig: opts.executionConfig ?? null,
    callbackConfig: opts.callbackConfig ?? null,
    maxRunSeconds: opts.maxRunSeconds ?? null,
    traceparent: opts.traceparent !== undefined ? opts.traceparent : currentTraceparent(),
    ...(opts.dedupeKey !== undefined
      ? {
          receipt: {
            scope: opts.dedupeScope ?? source,
            key: opts.dedupeKey,
            fingerprint: opts.dedupeFingerprint,
          },
        }
      : {}),
  };
}

/** What one injection wrote. */
export interface Written {
  messageId: string;
  sessionId: string;
  taskId: string | null;
  /** True when the receipt existed: nothing was written, the ids are the first one's. */
  duplicate: boolean;
  /** Outbox rows written (`task.created` events). */
  outboxRows: number;
}

/** Writes the `task.created` rows of a task the transaction created; returns how many. */
export type TaskCreatedRows = (
  tx: Repositories,
  sessionId: string,
  task: { id: string; botId: string },
) => Promise<number>;

/**
 * Writes `plans` through `tx`, in a few statements for all of them: takes their sessions'
 * locks (PostgreSQL, in one global order), claims their receipts already stamped with the
 * ids they will create (a repeat, in the store or earlier in `plans`, writes nothing and
 * gets the first one's ids), inserts the messages and, for plans with `runAgent`, the tasks
 * and their `task.created` rows (`taskCreated`).
 * @returns what was written, one per plan, in order
 * @throws DedupeKeyReusedError when a receipt was claimed before with another fingerprint
 */
export async function writeInjections(
  tx: Repositories,
  plans: InjectPlan[],
  taskCreated?: TaskCreatedRows,
): Promise<Written[]> {
  // The ids are made first, so each receipt is claimed stamped (no update after).
  const ids = plans.map((p) => ({
    messageId: tx.messages.newId(),
    taskId: p.runAgent ? tx.tasks.newId() : null,
  }));
  // The sessions' locks before any receipt: a transaction never holds a receipt while it
  // waits for a lock, so two batches writing to one session cannot deadlock.
  await tx.messages.lockSessions(plans.map((p) => p.sessionId));
  const claims: Array<{ at: number; receipt: NonNullable<InjectPlan["receipt"]> }> = [];
  plans.forEach((p, at) => {
    if (p.receipt) claims.push({ at, receipt: p.receipt });
  });
  const seen = await tx.receipts.claimMany(
    claims.map(({ at, receipt }) => ({
      source: receipt.scope,
      key: receipt.key,
      fingerprint: receipt.fingerprint ?? null,
      ids: ids[at]!,
    })),
  );
  const out: Array<Written | undefined> = new Array(plans.length);
  claims.forEach(({ at, receipt }, i) => {
    const s = seen[i];
    if (!s) return;
    if ((s.fingerprint ?? undefined) !== receipt.fingerprint) throw new DedupeKeyReusedError();
    const { messageId, taskId } = s;
    out[at] = {
      messageId,
      sessionId: plans[at]!.sessionId,
      taskId,
      duplicate: true,
      outboxRows: 0,
    };
  });
  const fresh = plans.map((_, at) => at).filter((at) => !out[at]);
  await tx.messages.insertMany(
    fresh.map((at) => {
      const p = plans[at]!;
      return {
        id: ids[at]!.messageId,
        sessionId: p.sessionId,
        role: p.role,
        content: p.content,
        metadata: p.metadata,
      };
    }),
    { locked: true },
  );
  const withTask = fresh.filter((at) => plans[at]!.runAgent);
  await tx.tasks.insertMany(
    withTask.map((at) => {
      const p = plans[at]!;
      return {
        id: ids[at]!.taskId!,
        sessionId: p.sessionId,
        botId: p.botId,
        messageId: ids[at]!.messageId,
        prompt: p.content,
        dispatchType: p.dispatchType,
        dispatchConfig: p.dispatchConfig,
        executionConfig: p.executionConfig,
        callbackConfig: p.callbackConfig,
        maxRunSeconds: p.maxRunSeconds,
        traceparent: p.traceparent,
      };
    }),
  );
  for (const at of fresh) {
    const p = plans[at]!;
    const { messageId, taskId } = ids[at]!;
    const outboxRows =
      taskId && taskCreated
        ? await taskCreated(tx, p.sessionId, { id: taskId, botId: p.botId })
        : 0;
    out[at] = { messageId, sessionId: p.sessionId, taskId, duplicate: false, outboxRows };
  }
  return out as Written[];
}
