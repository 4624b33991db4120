/**
 * The dispatcher contract: how a finished task's result reaches the outside. Core
 * ships `none`, `webhook` and `internal`; each integration may add one named after
 * itself. Dispatchers are called by the delivery worker from the outbox, so a failure
 * is retried on the outbox schedule and the LLM never runs again.
 */

/** The task fields a dispatcher sees (snake_case, as on the wire). */
export interface DispatchTask {
  id: string;
  session_id: string;
  bot_id: string;
  status: string;
  prompt: string;
  result: string | null;
  error: string | null;
  dispatch_type: string;
  dispatch_config: Record<string, unknown>;
  callback_config: Record<string, unknown> | null;
}

/** Options of {@link Dispatcher.deliver}. */
export interface DeliverOptions {
  clientActions?: Array<Record<string, unknown>>;
  extraMetadata?: Record<string, unknown>;
  /** Stable across retries and replays: use it as the idempotency key or a marker. */
  deliveryId: string;
}

/** Options of {@link Dispatcher.postMessage}. */
export interface PostMessageOptions {
  botId?: string;
  replyInThread?: boolean;
  username?: string;
  iconUrl?: string;
  clientActions?: Array<Record<string, unknown>>;
  extraMetadata?: Record<string, unknown>;
}

/**
 * A dispatcher. `deliver` resolves when the result was handed over and throws when it
 * was not: an error with `retryable: false` is final (the delivery is marked dead at once),
 * any other error is retried; `retryAfterMs` (ms) and `status` (HTTP) on the error are
 * honoured and recorded.
 */
export interface Dispatcher {
  deliver(task: DispatchTask, result: string, opts: DeliverOptions): Promise<void>;
  /** Posts a standalone message; true when it was sent. */
  postMessage(
    dispatchConfig: Record<string, unknown>,
    text: string,
    opts?: PostMessageOptions,
  ): Promise<boolean>;
}

/** The shape a dispatcher's error may take to steer retries. */
export interface DeliveryErrorInfo {
  retryable?: boolean;
  status?: number | null;
  retryAfterMs?: number;
}

/** An error for dispatchers to throw; any Error with the same fields works too. */
export class DeliveryError extends Error implements DeliveryErrorInfo {
  retryable: boolean;
  status: number | null;
  retryAfterMs?: number;
  constructor(message: string, info: DeliveryErrorInfo = {}) {
    super(message);
    this.name = "DeliveryError";
    this.retryable = info.retryable ?? true;
    this.status = info.status ?? null;
    this.retryAfterMs = info.retryAfterMs;
  }
}
