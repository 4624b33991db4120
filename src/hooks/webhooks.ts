/**
 * Hook webhooks: with `HOOK_WEBHOOK_URLS`, every fired lifecycle event is POSTed to each
 * URL as `{event, timestamp, context: {bot_id, session_id, channel_id, client_id,
 * correlation_id}, data}` through the one outbound client (10 s timeout, no inline retry:
 * best effort), signed with `X-AMS-Signature: hex(HMAC-SHA256(secret, body))` when
 * `HOOK_WEBHOOK_SECRET` is set. Sends are never awaited by the turn, and each URL has its
 * own bound on sends in flight, so a dead URL slows neither the turn nor another URL.
 */
import { createHmac } from "node:crypto";
import type { Logger } from "pino";
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import { redactUrl } from "../outbox/ssrf.ts";
import { type HookContext, LIFECYCLE_EVENTS } from "../sdk/hooks.ts";
import type { HookRegistry } from "./lifecycle.ts";

/** Settings of {@link HookWebhooks}. */
export interface HookWebhookOptions {
  urls: string[];
  secret?: string;
  http: OutboundHttpClient;
  log: Logger;
  /** Per-request timeout (ms); default 10 000. */
  timeoutMs?: number;
  /** Sends in flight per URL before new events for it are dropped (logged); default 64. */
  maxInFlightPerUrl?: number;
}

/** Forwards lifecycle events to HTTP endpoints. */
export class HookWebhooks {
  readonly #o: HookWebhookOptions;
  readonly #inFlight = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(opts: HookWebhookOptions) {
    this.#o = opts;
  }

  /** Subscribes to every lifecycle event of `hooks`. */
  attach(hooks: HookRegistry): void {
    for (const event of LIFECYCLE_EVENTS) {
      hooks.register(event, (ctx) => this.emit(event, ctx), "hook-webhooks");
    }
  }

  /** Sends `event` to every URL without waiting. */
  emit(event: string, ctx: HookContext): void {
    const body = JSON.stringify({
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
    });
    const headers: Record<string, string> = {};
    if (this.#o.secret) {
      headers["x-ams-signature"] = createHmac("sha256", this.#o.secret).update(body).digest("hex");
    }
    const limit = this.#o.maxInFlightPerUrl ?? 64;
    for (const url of this.#o.urls) {
      const n = this.#inFlight.get(url) ?? 0;
      if (n >= limit) {
        this.#o.log.warn(
          { url: redactUrl(url), event },
          "hook webhook backlog full; event dropped",
        );
        continue;
      }
      this.#inFlight.set(url, n + 1);
      const p = this.#o.http
        .postJson(url, body, { headers, timeoutMs: this.#o.timeoutMs ?? 10_000, retries: 0 })
        .then((res) => {
          if (!res.ok)
            this.#o.log.warn(
              { url: redactUrl(url), event, error: res.error },
              "hook webhook failed",
            );
        })
        .finally(() => {
          this.#inFlight.set(url, (this.#inFlight.get(url) ?? 1) - 1);
          this.#pending.delete(p);
        });
      this.#pending.add(p);
    }
  }

  /** Waits for sends in flight (at shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}
