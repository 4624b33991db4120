/**
 * A delegated task's result going back to its parent (issue 14, delegation). When a task
 * with a `callback_config.parent_session_id` finishes (complete or failed), one outbox row
 * of target type `delegation_result` is written in its finishing transaction, so the
 * decision to post survives any crash. The row's sender then:
 *
 * 1. posts the result (or `[Error: …]`) into the parent's conversation through the parent's
 *    dispatcher `postMessage` (the parent task's dispatch, else its session's), attributed
 *    to the child bot (`display_name`, else its name, and `avatar_url`), with the delivery
 *    id as the post's idempotency key (skipped when the parent dispatches to `none`);
 * 2. stores it as a message of the parent session through the one `injectMessage`, with
 *    the delivery id as dedupe key, and with `notify_parent` a follow-up turn of the
 *    parent's bot on it, whose reply goes where the parent task's reply went.
 *
 * A retried row (a crash after the post, before the outcome was recorded) posts with the
 * same delivery id, and the message and follow-up are not made twice: the dedupe key is
 * recorded in the message's own transaction.
 */
import type { Dispatcher } from "../sdk/dispatch.ts";
import { DeliveryError } from "../sdk/errors.ts";
import { SessionNotFoundError } from "../sessions/errors.ts";
import type { SessionService } from "../sessions/service.ts";
import type { Delivery } from "../store/deliveries.ts";
import type { Repositories, Store } from "../store/index.ts";
import type { Session } from "../store/sessions.ts";
import type { Task } from "../store/tasks.ts";
import type { FinishRows } from "../tasks/finish.ts";
import { placeOf } from "./tool.ts";

/** The outbox target type of delegation results (a core sender, not a dispatcher). */
export const DELEGATION_TARGET = "delegation_result";

/** The `source` of the result message in the parent session (and its dedupe scope). */
export const DELEGATION_SOURCE = "delegation";

/** What a `delegation_result` row carries. */
interface ResultPayload {
  task_id: string;
  bot_id: string;
  status: "complete" | "failed";
  result: string | null;
  error: string | null;
  parent_session_id: string;
  parent_task_id: string | null;
  notify_parent: boolean;
  depth: number;
  chain: string[];
}

/**
 * The finishing-transaction rows: one `delegation_result` delivery for a task that has a
 * `callback_config.parent_session_id`, none for any other.
 */
export const delegationFinishRows: FinishRows = {
  async prepare() {},
  async write(tx, task, outcome) {
    const c = task.callbackConfig;
    const parentSession = c?.parent_session_id;
    if (typeof parentSession !== "string" || !parentSession) return 0;
    const place = placeOf(task);
    const payload: ResultPayload = {
      task_id: task.id,
      bot_id: task.botId,
      status: outcome.status,
      result: outcome.status === "complete" ? outcome.result : null,
      error: outcome.status === "failed" ? outcome.error : null,
      parent_session_id: parentSession,
      parent_task_id: typeof c?.parent_task_id === "string" ? c.parent_task_id : null,
      notify_parent: c?.notify_parent !== false,
      depth: place.depth,
      chain: place.chain,
    };
    await tx.deliveries.insert({
      taskId: task.id,
      targetType: DELEGATION_TARGET,
      target: { parent_session_id: parentSession },
      payload: payload as unknown as Record<string, unknown>,
      destination: `${DELEGATION_TARGET}#${parentSession}`,
    });
    return 1;
  },
};

/**
 * Both writers' rows in one finishing transaction (`TaskFinisher` takes one): `prepare`s
 * run in order, and `write` returns the sum.
 */
export function combineFinishRows(...all: FinishRows[]): FinishRows {
  return {
    async prepare() {
      for (const r of all) await r.prepare();
    },
    async write(tx: Repositories, task: Task, outcome) {
      let n = 0;
      for (const r of all) n += await r.write(tx, task, outcome);
      return n;
    },
  };
}

/**
 * Where the parent's replies go: the parent task's dispatch (a message may name its own),
 * else the parent session's `dispatch_config`, else `none`.
 */
async function routeOf(
  store: Store,
  parent: Session,
  parentTaskId: string | null,
): Promise<{ type: string; config: Record<string, unknown> }> {
  const task = parentTaskId ? await store.tasks.get(parentTaskId) : undefined;
  if (task && task.dispatchType !== "none") {
    return { type: task.dispatchType, config: task.dispatchConfig ?? {} };
  }
  const config = parent.dispatchConfig ?? {};
  return { type: typeof config.type === "string" ? config.type : "none", config };
}

/** What the sender needs. */
export interface DelegationSenderDeps {
  store: Store;
  sessions: Pick<SessionService, "injectMessage">;
  dispatchers: { get(type: string): Dispatcher };
}

/**
 * Makes the `delegation_result` sender (see the module comment).
 * @throws DeliveryError, not retryable, when the parent session is gone; retryable when
 *   the parent's dispatcher did not post (false or an error)
 */
export function delegationResultSender(
  deps: DelegationSenderDeps,
): (d: Delivery, signal: AbortSignal) => Promise<void> {
  return async (d, signal) => {
    const p = d.payload as unknown as ResultPayload;
    const parent = await deps.store.sessions.get(p.parent_session_id);
    if (!parent) {
      throw new DeliveryError(`parent session ${p.parent_session_id} no longer exists`, {
        retryable: false,
      });
    }
    const bot = await deps.store.bots.get(p.bot_id);
    const shownAs = bot?.displayName || bot?.name || p.bot_id;
    const text = p.status === "complete" ? (p.result ?? "") : `[Error: ${p.error ?? "failed"}]`;
    const { type, config } = await routeOf(deps.store, parent, p.parent_task_id);
    if (type !== "none") {
      let posted = false;
      try {
        posted = await deps.dispatchers.get(type).postMessage(config, text, {
          botId: p.bot_id,
          username: shownAs,
          ...(bot?.avatarUrl ? { iconUrl: bot.avatarUrl } : {}),
          deliveryId: d.id,
          taskId: p.task_id,
          signal,
        });
      } catch (err) {
        throw new DeliveryError(`not posted: ${(err as Error)?.message ?? err}`);
      }
      if (!posted) throw new DeliveryError(`the ${type} dispatcher did not post the result`);
    }
    const verb = p.status === "complete" ? "finished" : "failed";
    try {
      await deps.sessions.injectMessage(parent.id, {
        content: `[Task ${p.task_id} delegated to ${shownAs} (${p.bot_id}) ${verb}]\n\n${text}`,
        source: DELEGATION_SOURCE,
        metadata: { delegated_task_id: p.task_id, bot_id: p.bot_id, status: p.status },
        runAgent: p.notify_parent,
        ...(type !== "none" ? { dispatchType: type, dispatchConfig: config } : {}),
        dedupeKey: d.id,
        // The follow-up turn delegates from the child's depth on, so two bots handing work
        // back and forth through follow-ups stop at SWITCHYARD_DELEGATION_MAX_DEPTH.
        callbackConfig: p.notify_parent
          ? { depth: p.depth, chain: p.chain.slice(0, -1), follow_up_of: p.task_id }
          : null,
      });
    } catch (err) {
      if (err instanceof SessionNotFoundError) {
        throw new DeliveryError(`parent session ${parent.id} no longer exists`, {
          retryable: false,
        });
      }
      throw err;
    }
  };
}
