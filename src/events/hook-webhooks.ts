/**
 * Hook webhooks: with `HOOK_WEBHOOK_URLS`, every fired lifecycle event becomes one outbox
 * delivery per URL (`target_type: "hook_webhook"`, DESIGN.md §2 "one outbox"), sent by the
 * delivery worker through the one outbound client and retried on the outbox schedule until
 * delivered or dead; listed and replayable under `/api/v1/deliveries`.
 *
 * The body is `{event, timestamp, context: {bot_id, session_id, channel_id, client_id,
 * correlation_id}, data}` (`timestamp`: when the event fired, ISO 8601). Every attempt is
 * signed afresh by the one signing module (`outbox/signing.ts`): `webhook-id` (= the
 * delivery id, stable across retries and replays) and `webhook-timestamp` always; with
 * `HOOK_WEBHOOK_SECRET` also `webhook-signature` (Standard Webhooks) and
 * `X-AMS-Signature: hex(HMAC-SHA256(secret, body))`.
 *
 * A turn never waits: firing an event only queues its rows in memory; a background flush
 * writes whatever piled up in one statement and wakes the worker. A failed write is logged
 * and its events are lost (as a failed send was before); at most `maxQueued` rows wait, newer
 * events beyond that are dropped with a warning. A delivery whose URL is no longer in
 * `HOOK_WEBHOOK_URLS` (the setting changed across a restart) is dead at its next attempt.
 */
import type { Logger } from "pino";
import type { HookRegistry } from "../hooks/lifecycle.ts";
import { redactUrl } from "../lib/redact.ts";
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import { amsSignature, signatureHeaders, standardWebhookSigner } from "../outbox/signing.ts";
import type { DeliveryWorker } from "../outbox/worker.ts";
import { DeliveryError } from "../sdk/errors.ts";
import { type HookContext, LIFECYCLE_EVENTS } from "../sdk/hooks.ts";
import type { Delivery, NewDelivery } from "../store/deliveries.ts";
import type { Store } from "../store/index.ts";

/** The outbox target type of hook webhook deliveries (not a dispatcher name). */
export const HOOK_WEBHOOK_TARGET_TYPE = "hook_webhook";

/** Rows written per statement at most. */
const WRITE_BATCH = 500;

/** Settings of {@link HookWebhooks}. */
export interface HookWebhookOptions {
  /** `HOOK_WEBHOOK_URLS`: comma-separated http(s) URLs (blank entries ignored), or a list. */
  urls: string | readonly string[] | undefined;
  /** `HOOK_WEBHOOK_SECRET`; unsigned without one. */
  secret?: string;
  store: Store;
  deliveryWorker: DeliveryWorker;
  http: OutboundHttpClient;
  log: Logger;
  /** Per-attempt timeout (ms); default 10 000. No inline retry: the outbox schedule retries. */
  timeoutMs?: number;
  /** Rows waiting to be written before new events are dropped (logged); default 10 000. */
  maxQueued?: number;
}

/** Forwards lifecycle events to HTTP endpoints through the outbox. */
export class HookWebhooks {
  /** The configured URLs, in order. */
  readonly urls: readonly string[];
  readonly #o: HookWebhookOptions;
  readonly #urls: ReadonlySet<string>;
  readonly #signer: ReturnType<typeof standardWebhookSigner> | null = null;
  #queued: NewDelivery[] = [];
  #writing: Promise<void> | undefined;
  #dropped = 0;

  /**
   * Registers the `hook_webhook` sender with the delivery worker (always, so rows written
   * under an earlier setting are settled). A `whsec_` secret that is not valid base64 is
   * logged once; such deliveries then carry only `X-AMS-Signature`.
   */
  constructor(opts: HookWebhookOptions) {
    this.#o = opts;
    const list = typeof opts.urls === "string" ? opts.urls.split(",") : (opts.urls ?? []);
    this.urls = [...new Set(list.map((u) => u.trim()).filter(Boolean))];
    this.#urls = new Set(this.urls);
    if (opts.secret) {
      try {
        this.#signer = standardWebhookSigner(opts.secret);
      } catch (err) {
        opts.log.warn(
          { reason: (err as Error).message },
          "HOOK_WEBHOOK_SECRET cannot sign Standard Webhooks; hook webhooks carry X-AMS-Signature only",
        );
      }
    }
    opts.deliveryWorker.registerSender(HOOK_WEBHOOK_TARGET_TYPE, (d, signal) =>
      this.#send(d, signal),
    );
  }

  /** Subscribes to every lifecycle event of `hooks` (nothing when no URL is configured). */
  attach(hooks: HookRegistry): void {
    if (this.urls.length === 0) return;
    for (const event of LIFECYCLE_EVENTS) {
      hooks.register(event, (ctx) => this.emit(event, ctx), "hook-webhooks");
    }
  }

  /**
   * Queues one delivery of `event` per URL and returns at once; the rows are written in the
   * background.
   * @throws TypeError when `ctx.extra` cannot be serialised as JSON (the hook registry logs it)
   */
  emit(event: string, ctx: HookContext): void {
    if (this.urls.length === 0) return;
    // Serialised now, so the stored body is exactly what can be sent (and a bad value fails
    // this event alone, not the batch it would be written with).
    const payload = JSON.parse(
      JSON.stringify({
        event,
        timestamp: new Date().toISOString(),
        context: {
          bot_id: ctx.botId,
          session_id: ctx.sessionId,
          channel_id: ctx.channelId ?? null,
          client_id: ctx.clientId,
          correlation_id: ctx.correlationId,
        },
        data: ctx.extra,
      }),
    ) as Record<string, unknown>;
    const max = this.#o.maxQueued ?? 10_000;
    for (const url of this.urls) {
      if (this.#queued.length >= max) {
        if (this.#dropped++ === 0) {
          this.#o.log.warn({ event, queued: max }, "hook webhook backlog full; events dropped");
        }
        continue;
      }
      this.#queued.push({
        targetType: HOOK_WEBHOOK_TARGET_TYPE,
        target: { url, timeout_ms: this.#o.timeoutMs ?? 10_000 },
        payload,
      });
    }
    this.#writing ??= this.#write();
  }

  /** Resolves once every row queued so far is written (or its write failed). Call before the delivery worker and the store stop. */
  async drain(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Writes the queued rows in batches; never rejects. */
  async #write(): Promise<void> {
    const { store, deliveryWorker, log } = this.#o;
    // Let the events fired in this turn of the event loop join the batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.#queued.length) {
      const batch = this.#queued.splice(0, WRITE_BATCH);
      try {
        await store.deliveries.insertRows(batch);
        deliveryWorker.poke();
      } catch (err) {
        log.warn(
          { deliveries: batch.length, err: (err as Error).message },
          "hook webhook deliveries not written; events lost",
        );
      }
    }
    if (this.#dropped > 1) {
      log.warn(
        { dropped: this.#dropped },
        "hook webhook events dropped while the backlog was full",
      );
    }
    this.#dropped = 0;
    this.#writing = undefined;
  }

  /**
   * The outbox sender of `hook_webhook` deliveries: POSTs the stored body's JSON, signed
   * afresh for this attempt, with the lease's `signal`.
   * @throws DeliveryError steering the outbox: retryable for any HTTP answer but 2xx, network
   *   errors and timeouts; final for a URL no longer configured or a refused destination
   */
  async #send(d: Delivery, signal: AbortSignal): Promise<{ httpStatus?: number }> {
    const url = d.target.url;
    if (typeof url !== "string" || !this.#urls.has(url)) {
      throw new DeliveryError("hook webhook URL is no longer configured", { retryable: false });
    }
    const body = JSON.stringify(d.payload);
    const secret = this.#o.secret || null;
    const timeout = d.target.timeout_ms;
    const res = await this.#o.http.postJson(url, body, {
      timeoutMs: typeof timeout === "number" && timeout > 0 ? timeout : 10_000,
      retries: 0,
      signal,
      headersForAttempt: () =>
        secret && !this.#signer
          ? { ...signatureHeaders(d.id, body, null), "x-ams-signature": amsSignature(secret, body) }
          : signatureHeaders(d.id, body, secret, new Date(), this.#signer),
    });
    if (res.ok) return res.status == null ? {} : { httpStatus: res.status };
    this.#o.log.debug(
      { delivery_id: d.id, url: redactUrl(url), event: d.payload.event, error: res.error },
      "hook webhook attempt failed",
    );
    throw new DeliveryError(res.error ?? `HTTP ${res.status}`, {
      retryable: res.status != null ? true : res.retryable,
      status: res.status,
      retryAfterMs: res.retryAfterMs,
    });
  }
}
