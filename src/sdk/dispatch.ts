/**
 * The dispatcher contract: how a finished task's result reaches the outside. Core ships
 * `none`, `webhook` and `internal`; each integration may add one named after itself
 * (`dispatcher.ts`). Dispatchers are called only by the outbox's delivery worker, so a
 * failure is retried on the outbox schedule and the LLM never runs again.
 */
import type { IntegrationContext } from "./context.ts";

/** The task fields a dispatcher sees (snake_case, as on the wire), carried by the delivery row. */
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
  /**
   * Aborted shortly before this attempt's lease on the delivery ends (the lease is 300 s;
   * the signal fires a tenth of it, at most 30 s, earlier): stop sending then, so a slow
   * send never overlaps another instance's claim. Pass it to `ctx.http` calls
   * (`{ signal }`). An aborted send counts as a failed attempt and is retried.
   */
  signal: AbortSignal;
}

/** Options of {@link Dispatcher.postMessage}. */
export interface PostMessageOptions {
  /** The bot the message is attributed to (e.g. a delegated task's bot). */
  botId?: string;
  replyInThread?: boolean;
  /** Who the message is shown as: the bot's `display_name` (else its name). */
  username?: string;
  /** The bot's `avatar_url`, where the platform shows one. */
  iconUrl?: string;
  clientActions?: Array<Record<string, unknown>>;
  extraMetadata?: Record<string, unknown>;
  /**
   * Stable across retries when the post comes from the outbox (a delegated task's result):
   * use it as the idempotency key or a marker, as in {@link DeliverOptions.deliveryId}.
   */
  deliveryId?: string;
  /** The task whose result this is, when there is one (chat adapters attribute by it). */
  taskId?: string;
  /** Aborted shortly before the outbox's lease on the post ends; stop sending then. */
  signal?: AbortSignal;
}

/**
 * A dispatcher. `deliver` resolves when the result was handed over and throws when it was
 * not: a {@link DeliveryError} (or any error) with `retryable: false` is final (the
 * delivery is dead at once), any other error is retried; `retryAfterMs` (ms) and `status`
 * (HTTP) on the error are honoured and recorded.
 */
export interface Dispatcher {
  deliver(task: DispatchTask, result: string, opts: DeliverOptions): Promise<void>;
  /**
   * Optional: checks a dispatch config when a message names it, before anything is stored,
   * so a config that can never be delivered is refused at the door (the API answers 422
   * with the reason) instead of dying in the outbox later.
   * @returns null when the config is usable, else a short reason naming the field
   */
  checkConfig?(dispatchConfig: Record<string, unknown>): Promise<string | null> | string | null;
  /** Posts a standalone message; true when it was sent. */
  postMessage(
    dispatchConfig: Record<string, unknown>,
    text: string,
    opts?: PostMessageOptions,
  ): Promise<boolean>;
}

/** `dispatcher.ts`: registered as dispatch type `<name>`. */
export type DispatcherDefinition = (ctx: IntegrationContext) => Dispatcher;
