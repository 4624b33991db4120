/**
 * The dispatcher face of an adapter: what the dispatcher registry holds for an adapter's
 * dispatch type. It checks a `dispatch_config` (a conversation channel is required) and
 * offers `deliver` and `postMessage` to callers outside the outbox's own sender (a
 * delegated task's result, a delivery sent from inside another), each turned into an
 * unstored delivery row and sent down the adapter's one send path.
 */
import { uuidv7 } from "../ids.ts";
import type { Dispatcher } from "../sdk/dispatch.ts";
import type { Delivery } from "../store/deliveries.ts";

/**
 * Sends one delivery through an adapter (the host's send path: reply text, files, dedupe).
 * @throws DeliveryError when the adapter is not configured or the send fails
 */
export type AdapterSend = (d: Delivery, signal: AbortSignal) => Promise<void>;

/**
 * The dispatcher of adapter `name`'s dispatch type.
 * - `checkConfig` refuses a config without `conversation.channel` (a non-empty string).
 * - `deliver` sends a task's result as a reply (`payload`: `task_id`, `status`, `result`,
 *   `task`), with the outer delivery's id.
 * - `postMessage` posts standalone text (a delegated task's result), attributed to the bot
 *   of `opts.taskId`, deduped by `opts.deliveryId` where the adapter can check; it waits at
 *   most 30 s without `opts.signal`, and resolves true once sent.
 */
export function adapterDispatcher(name: string, send: AdapterSend): Dispatcher {
  return {
    checkConfig(config) {
      const c = config.conversation as { channel?: unknown } | undefined;
      return c && typeof c === "object" && typeof c.channel === "string" && c.channel
        ? null
        : "dispatch_config.conversation.channel is missing";
    },
    deliver: async (task, result, opts) => {
      await send(
        inMemoryDelivery(name, {
          id: opts.deliveryId,
          taskId: task.id,
          target: task.dispatch_config,
          payload: { task_id: task.id, status: task.status, result, task },
        }),
        opts.signal,
      );
    },
    // A standalone post (a delegated task's result): the reply path, attributed to the
    // bot of `opts.taskId`, deduped by `opts.deliveryId` where the adapter can check.
    postMessage: async (config, text, opts = {}) => {
      await send(
        inMemoryDelivery(name, {
          id: opts.deliveryId ?? uuidv7(),
          taskId: opts.taskId ?? null,
          target: config,
          payload: { task_id: opts.taskId ?? null, status: "complete", result: text },
        }),
        opts.signal ?? AbortSignal.timeout(30_000),
      );
      return true;
    },
  };
}

/**
 * A delivery row that is never stored: what the dispatcher face of an adapter (`deliver`,
 * `postMessage`, called from inside another delivery's send) hands to the adapter's send
 * path. `attempts: 2` makes that path ask `findOwnPost` first, since the outer delivery
 * may be a retry whose earlier post went through.
 */
function inMemoryDelivery(
  adapter: string,
  d: Pick<Delivery, "id" | "taskId" | "target" | "payload">,
): Delivery {
  const now = Date.now();
  return {
    ...d,
    targetType: adapter,
    status: "pending",
    attempts: 2,
    nextAttemptAt: now,
    lastStatus: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    deliveredAt: null,
    subscriptionId: null,
    destination: adapter,
  };
}
