/**
 * Events (seed 003: emitWebhookEvent, resolveEventName): a named occurrence sent to every
 * enabled webhook subscription that wants it, as `{event, timestamp, data}` JSON.
 *
 * Every send goes through the outbox (DESIGN.md §6): one delivery row per subscription
 * (`target_type: "event"`), first attempted inline by `DeliveryWorker.sendNow` with the
 * one outbound client (timeout, inline retries), then on the durable schedule until
 * delivered or dead; replayable with the same `webhook-id` (= the delivery id).
 * Receivers follow Svix's rules (REFERENCE.md "Outbound"): any non-2xx answer is a failure
 * that is retried (3xx is never followed), except 410 Gone, which disables the
 * subscription and ends the delivery.
 *
 * Core emission ({@link EventService.emit}) is fire-and-forget: it never waits, never
 * throws, and when nobody subscribed it costs a look at an in-memory list.
 */
import type { Logger } from "pino";
import { destinationOfUrl } from "../lib/destination.ts";
import { redactUrl } from "../lib/redact.ts";
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import { signatureHeaders, standardWebhookSigner } from "../outbox/signing.ts";
import type { DeliveryWorker } from "../outbox/worker.ts";
import { DeliveryError } from "../sdk/errors.ts";
import type { Delivery } from "../store/deliveries.ts";
import type { Repositories, Store } from "../store/index.ts";
import type { WebhookSubscription } from "../store/webhook-subscriptions.ts";
import {
  type EmitDelivery,
  type EmitResult,
  EVENT_NAMES,
  type EventName,
  OutboundInputError,
} from "./outbound-types.ts";
import { subscribedTo, type WebhookSubscriptionService } from "./webhook-subscriptions.ts";

/** The outbox target type of event deliveries (not a dispatcher name). */
export const EVENT_TARGET_TYPE = "event";

/**
 * How a tool call maps to an event: an event name, or a function of the call's
 * arguments and result (parsed JSON when it is JSON) returning one or null.
 */
export type ToolEventRule = EventName | ((args: unknown, result: unknown) => EventName | null);

/** Tool name → rule. */
export type ToolEventTable = Readonly<Record<string, ToolEventRule>>;

const statusOf = (v: unknown): unknown =>
  v && typeof v === "object" ? (v as Record<string, unknown>).status : undefined;

/** Seed 003's mapping table of tool calls to events. */
export const DEFAULT_TOOL_EVENTS: ToolEventTable = {
  audit_session_start: "session.start",
  audit_session_end: "session.end",
  task_create: "task.created",
  task_create_batch: "task.created",
  task_update: (args, result) =>
    statusOf(args) === "done" || statusOf(result) === "done" ? "task.completed" : null,
  task_sync_to_gsd: "task.sync",
  roadmap_export_to_gsd: "roadmap.exported",
};

/**
 * Maps a tool call to an event name (seed 003 `resolveEventName`).
 * @param args the call's arguments (an object)
 * @param result its result: an object, or a string that is parsed when it is JSON
 * @param table the mapping (default {@link DEFAULT_TOOL_EVENTS})
 * @returns the event name, or null when the tool maps to none
 */
export function resolveEventName(
  toolName: string,
  args?: unknown,
  result?: unknown,
  table: ToolEventTable = DEFAULT_TOOL_EVENTS,
): EventName | null {
  if (!Object.hasOwn(table, toolName)) return null;
  const rule = table[toolName]!;
  return typeof rule === "function" ? rule(args, parseMaybeJson(result)) : rule;
}

function parseMaybeJson(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Event data, or a function computing it (only called when someone subscribed). */
export type EventData = Record<string, unknown> | (() => Promise<Record<string, unknown>>);

/** Settings of {@link EventService}. */
export interface EventServiceOptions {
  store: Store;
  subscriptions: WebhookSubscriptionService;
  deliveryWorker: DeliveryWorker;
  http: OutboundHttpClient;
  log: Logger;
  /** Per-attempt timeout of a send in ms (`target.timeout_ms`); default 15 000. */
  timeoutMs?: number;
  /** Inline retries per attempt (`target.retry_count`); default 2. */
  retryCount?: number;
  /**
   * Longest wait for inline attempts in {@link EventService.emitEvent}, ms; a delivery
   * still being sent then is answered `pending` and goes on in the background. Default 3000.
   */
  inlineWaitMs?: number;
  /** Tool call → event mapping; default {@link DEFAULT_TOOL_EVENTS}. */
  toolEvents?: ToolEventTable;
  /**
   * Core-emitted deliveries attempted inline at once; beyond that new ones are only
   * written to the outbox for the delivery worker (bounded memory under a slow receiver).
   * Default 64.
   */
  maxInlineSends?: number;
  /**
   * Told about every event, emitted or core, whether or not anyone subscribed (git
   * auto-commit listens here); must not throw and must not wait.
   */
  onEvent?: (name: EventName, data: EventData) => void;
}

/** Emits events to webhook subscriptions and sends their deliveries. */
export class EventService {
  readonly #o: EventServiceOptions;
  readonly #timeoutMs: number;
  readonly #retryCount: number;
  readonly #toolEvents: ToolEventTable;
  readonly #pending = new Set<Promise<unknown>>();
  #inlineSends = 0;

  /** Also registers the `event` sender with the delivery worker. */
  constructor(opts: EventServiceOptions) {
    this.#o = opts;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#retryCount = opts.retryCount ?? 2;
    this.#toolEvents = opts.toolEvents ?? DEFAULT_TOOL_EVENTS;
    opts.deliveryWorker.registerSender(EVENT_TARGET_TYPE, (d, signal) => this.#send(d, signal));
  }

  /**
   * Sends `eventName` to every enabled subscription that wants it, in parallel, and
   * resolves after their inline attempts, or after `inlineWaitMs` with the slow ones
   * `pending` (seed 003 `emitWebhookEvent`). The body is
   * `{event, timestamp (ISO 8601), data: payload}`. Uses the cached subscription list (this
   * process's changes apply at once; another instance's within 2 s).
   * @throws OutboundInputError 422 for an unknown event name (listing the valid ones) or
   *   a payload that is not an object
   */
  async emitEvent(eventName: string, payload: Record<string, unknown> = {}): Promise<EmitResult> {
    if (!(EVENT_NAMES as readonly string[]).includes(eventName)) {
      throw new OutboundInputError(
        422,
        `Unknown event: ${eventName}; valid events: ${EVENT_NAMES.join(", ")}`,
      );
    }
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
      throw new OutboundInputError(422, "payload must be a JSON object");
    }
    this.#notify(eventName as EventName, payload);
    return this.#emit(eventName, payload, await this.#o.subscriptions.cached(), false);
  }

  /**
   * Core emission: sends `name` in the background; never throws, never waits. With no
   * subscription for it (judged from the cached list) it returns at once and `data`, when
   * a function, is not called.
   */
  emit(name: EventName, data: EventData): void {
    this.#notify(name, data);
    try {
      const cached = this.#o.subscriptions.peek();
      if (cached && !cached.some((s) => subscribedTo(s, name))) return;
      const p = (async () => {
        const subs = cached ?? (await this.#o.subscriptions.cached());
        if (!subs.some((s) => subscribedTo(s, name))) return;
        const d = typeof data === "function" ? await data() : data;
        await this.#emit(name, d, subs, true);
      })().catch((err: unknown) =>
        this.#o.log.warn({ event: name, err: (err as Error)?.message }, "event not emitted"),
      );
      this.#pending.add(p);
      p.finally(() => this.#pending.delete(p));
    } catch (err) {
      this.#o.log.warn({ event: name, err: (err as Error)?.message }, "event not emitted");
    }
  }

  /**
   * Emits the event a tool call maps to (see {@link resolveEventName}), if any, with data
   * `{task_id, session_id, tool_name, args, result}`. Failed calls map to nothing.
   */
  toolCalled(call: {
    name: string;
    args: unknown;
    result: string | null;
    status: "ok" | "error";
    taskId: string;
    sessionId: string;
  }): void {
    if (call.status !== "ok") return;
    let event: EventName | null;
    try {
      event = resolveEventName(call.name, call.args, call.result, this.#toolEvents);
    } catch {
      return; // a faulty custom rule never breaks the turn
    }
    if (!event) return;
    this.emit(event, {
      task_id: call.taskId,
      session_id: call.sessionId,
      tool_name: call.name,
      args: call.args ?? {},
      result: parseMaybeJson(call.result),
    });
  }

  #notify(name: EventName, data: EventData): void {
    try {
      this.#o.onEvent?.(name, data);
    } catch (err) {
      this.#o.log.warn({ event: name, err: (err as Error)?.message }, "event listener failed");
    }
  }

  /**
   * Writes `name`'s deliveries (pending, due now, for the delivery worker) inside the
   * caller's transaction, so the event commits with the change it reports or not at all.
   * Uses the subscription list as last read: call `subscriptions.cached()` before the
   * transaction. Tells `onEvent` listeners too.
   * @returns how many deliveries were written
   */
  async queueInTransaction(
    tx: Repositories,
    name: EventName,
    data: Record<string, unknown>,
  ): Promise<number> {
    this.#notify(name, data);
    const subs = (this.#o.subscriptions.lastKnown() ?? []).filter((s) => subscribedTo(s, name));
    if (subs.length === 0) return 0;
    const body = { event: name, timestamp: new Date().toISOString(), data };
    await tx.deliveries.insertRows(
      subs.map((s) => ({
        targetType: EVENT_TARGET_TYPE,
        subscriptionId: s.id,
        target: { timeout_ms: this.#timeoutMs, retry_count: this.#retryCount },
        payload: body,
        destination: destinationOfUrl(s.url),
      })),
    );
    return subs.length;
  }

  /** Waits for background emissions started so far (used on stop, and by tests). */
  async drain(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }

  async #emit(
    event: string,
    data: Record<string, unknown>,
    subs: WebhookSubscription[],
    background: boolean,
  ): Promise<EmitResult> {
    const body = { event, timestamp: new Date().toISOString(), data };
    const matching = subs.filter((s) => subscribedTo(s, event));
    const deliveries = await this.#deliver(matching, body, background);
    const sent = deliveries.filter((d) => d.status === "delivered").length;
    const pending = deliveries.filter((d) => d.status === "pending").length;
    return {
      event,
      sent,
      failed: deliveries.length - sent - pending,
      pending,
      skipped: subs.length - matching.length,
      deliveries,
    };
  }

  /**
   * Writes one delivery per subscription (one statement) and attempts them inline in
   * parallel; core emission beyond `maxInlineSends` in flight only writes the rows and
   * leaves them to the worker (reported as failed with error "queued").
   */
  async #deliver(
    subs: WebhookSubscription[],
    body: Record<string, unknown>,
    background: boolean,
  ): Promise<EmitDelivery[]> {
    const row = (sub: WebhookSubscription) => ({
      targetType: EVENT_TARGET_TYPE,
      subscriptionId: sub.id,
      target: { timeout_ms: this.#timeoutMs, retry_count: this.#retryCount },
      payload: body,
      destination: destinationOfUrl(sub.url),
    });
    const room = background
      ? Math.max(0, (this.#o.maxInlineSends ?? 64) - this.#inlineSends)
      : subs.length;
    const inline = subs.slice(0, room);
    const queued = subs.slice(room);
    const out: EmitDelivery[] = [];
    const queuedOut: EmitDelivery[] = [];
    if (queued.length) {
      const rows = await this.#o.store.deliveries.insertRows(queued.map(row));
      this.#o.deliveryWorker.poke();
      rows.forEach((d, i) => {
        queuedOut.push({
          webhook_id: queued[i]!.id,
          delivery_id: d.id,
          status: "failed",
          http_status: null,
          error: "queued",
        });
      });
    }
    if (inline.length) {
      this.#inlineSends += inline.length;
      try {
        const results = await this.#o.deliveryWorker.sendNowMany(inline.map(row), {
          awaitOutcomes: !background,
          waitMs: background ? undefined : (this.#o.inlineWaitMs ?? 3000),
        });
        results.forEach(({ delivery, outcome }, i) => {
          out.push({
            webhook_id: inline[i]!.id,
            delivery_id: delivery.id,
            status: outcome.status,
            http_status: outcome.httpStatus,
            ...(outcome.error ? { error: outcome.error } : {}),
          });
        });
      } finally {
        this.#inlineSends -= inline.length;
      }
    }
    return [...out, ...queuedOut];
  }

  /**
   * The outbox sender of `event` deliveries: loads the subscription (gone or disabled →
   * dead), signs afresh for every attempt (`webhook-id` = delivery id) and POSTs the
   * stored body's exact JSON bytes.
   * @throws DeliveryError steering the outbox: retryable for network errors, timeouts and
   *   any non-2xx but 410; not retryable for 410 (the subscription is disabled), refused
   *   destinations, and a gone or disabled subscription
   */
  async #send(d: Delivery, signal: AbortSignal): Promise<{ httpStatus?: number }> {
    const sub = d.subscriptionId
      ? await this.#o.subscriptions.forSend(d.subscriptionId)
      : undefined;
    if (!sub)
      throw new DeliveryError("webhook subscription no longer exists", { retryable: false });
    if (sub.disabledAt != null) {
      throw new DeliveryError("webhook subscription is disabled", { retryable: false });
    }
    const body = bodyText(d.payload);
    const signer = sub.secret ? standardWebhookSigner(sub.secret) : null;
    const res = await this.#o.http.postJson(sub.url, body, {
      timeoutMs: positive(d.target.timeout_ms, this.#timeoutMs),
      retries: positive(d.target.retry_count, this.#retryCount),
      signal,
      headersForAttempt: () => signatureHeaders(d.id, body, sub.secret, new Date(), signer),
    });
    if (res.ok) return res.status == null ? {} : { httpStatus: res.status };
    if (res.status === 410) {
      await this.#o.subscriptions.disable(sub.id, "receiver answered 410 Gone");
      throw new DeliveryError("HTTP 410 Gone: webhook disabled", { retryable: false, status: 410 });
    }
    this.#o.log.debug(
      { delivery_id: d.id, url: redactUrl(sub.url), error: res.error },
      "event delivery attempt failed",
    );
    throw new DeliveryError(res.error ?? `HTTP ${res.status}`, {
      // An HTTP answer (3xx, 4xx, 5xx) is retried on the schedule like Svix does; without
      // one the client knows: network errors and timeouts yes, refused destinations no.
      retryable: res.status != null ? true : res.retryable,
      status: res.status,
      retryAfterMs: res.retryAfterMs,
    });
  }
}

/** JSON of each emitted body, made once for all its subscriptions (keyed by the object). */
const bodyTexts = new WeakMap<object, string>();
function bodyText(payload: Record<string, unknown>): string {
  let text = bodyTexts.get(payload);
  if (text === undefined) {
    text = JSON.stringify(payload);
    bodyTexts.set(payload, text);
  }
  return text;
}

/** `v` when it is a finite number ≥ 0, else `fallback`. */
function positive(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : fallback;
}
