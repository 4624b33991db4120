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

/**
 * Writes `plan` through `tx`: claims the receipt (a repeat writes nothing and returns the
 * first one's ids), inserts the message and, with `runAgent`, the task and its
 * `task.created` rows (`taskCreated`), then stamps the receipt (without a task, the receipt
 * is claimed already stamped with the message id, made first).
 * @throws DedupeKeyReusedError when the receipt was claimed with another fingerprint
 */
export async function writeInjection(
  tx: Repositories,
  plan: InjectPlan,
  taskCreated?: (
    tx: Repositories,
    sessionId: string,
    task: { id: string; botId: string },
  ) => Promise<number>,
): Promise<Written> {
  const { sessionId, receipt } = plan;
  // Without a task the receipt's ids are known before the writes: it is claimed stamped
  // (one statement fewer per inbound message); with a task it is stamped after.
  const messageId = tx.messages.newId();
  const stampedAtClaim = !plan.runAgent;
  if (receipt) {
    // The session's lock first (PostgreSQL): a transaction never holds a receipt while it
    // waits for the lock, so two batches writing to one session cannot deadlock.
    await tx.messages.lockSession(sessionId);
    const seen = await tx.receipts.claim(
      receipt.scope,
      receipt.key,
      receipt.fingerprint ?? null,
      stampedAtClaim ? { messageId, taskId: null } : undefined,
    );
    if (seen) {
      if ((seen.fingerprint ?? undefined) !== receipt.fingerprint) throw new DedupeKeyReusedError();
      const { messageId, taskId } = seen;
      return { messageId, sessionId, taskId, duplicate: true, outboxRows: 0 };
    }
  }
  const message = await tx.messages.insert(
    { id: messageId, sessionId, role: plan.role, content: plan.content, metadata: plan.metadata },
    { locked: receipt !== undefined },
  );
  let taskId: string | null = null;
  let outboxRows = 0;
  if (plan.runAgent) {
    const task = await tx.tasks.insert({
      sessionId,
      botId: plan.botId,
      messageId: message.id,
      prompt: plan.content,
      dispatchType: plan.dispatchType,
      dispatchConfig: plan.dispatchConfig,
      executionConfig: plan.executionConfig,
      callbackConfig: plan.callbackConfig,
      maxRunSeconds: plan.maxRunSeconds,
      traceparent: plan.traceparent,
    });
    taskId = task.id;
    if (taskCreated)
      outboxRows = await taskCreated(tx, sessionId, { id: task.id, botId: plan.botId });
  }
  if (receipt && !stampedAtClaim)
    await tx.receipts.stamp(receipt.scope, receipt.key, { messageId: message.id, taskId });
  return { messageId: message.id, sessionId, taskId, duplicate: false, outboxRows };
}
