/**
 * The `webhook` dispatcher: POSTs `{task_id, result}` as JSON to `dispatch_config.url`
 * through the one outbound client (timeout, inline retries, SSRF guard). The delivery id
 * is sent as `webhook-id` (Standard Webhooks) so the receiver can drop duplicates.
 * `postMessage` POSTs `{message, username?, icon_url?, bot_id?, task_id?}`, with
 * `webhook-id` when the post comes from the outbox (a delegated task's result).
 */
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import { assertUrlAllowed, type Resolver, UrlNotAllowedError } from "../outbox/ssrf.ts";
import type { Dispatcher } from "../sdk/dispatch.ts";
import { DeliveryError } from "../sdk/errors.ts";

/**
 * Makes the webhook dispatcher over `http`. `checkConfig` refuses, at inject time, a
 * `dispatch_config.url` that is missing, not http(s), or a destination the SSRF guard would
 * refuse (unless `allowPrivate`), checked with the same resolver as the client.
 */
export function createWebhookDispatcher(
  http: OutboundHttpClient,
  guard: { allowPrivate: boolean; resolver?: Resolver },
): Dispatcher {
  async function post(
    url: unknown,
    body: unknown,
    deliveryId?: string,
    signal?: AbortSignal,
  ): Promise<void> {
    if (typeof url !== "string" || !url) {
      throw new DeliveryError("dispatch_config.url is missing", { retryable: false });
    }
    const res = await http.postJson(url, body, {
      headers: deliveryId ? { "webhook-id": deliveryId } : {},
      // The outbox's lease signal: the send ends before the lease does.
      signal,
    });
    if (res.ok) return;
    throw new DeliveryError(res.error ?? `HTTP ${res.status}`, {
      retryable: res.retryable,
      status: res.status,
      retryAfterMs: res.retryAfterMs,
    });
  }
  return {
    async checkConfig(config) {
      if (typeof config.url !== "string" || !config.url) return "dispatch_config.url is missing";
      try {
        await assertUrlAllowed(config.url, guard);
        return null;
      } catch (err) {
        if (err instanceof UrlNotAllowedError) {
          return `dispatch_config.url is not allowed: ${err.reason}`;
        }
        throw err;
      }
    },
    async deliver(task, result, opts) {
      await post(
        task.dispatch_config.url,
        { task_id: task.id, result },
        opts.deliveryId,
        opts.signal,
      );
    },
    async postMessage(config, text, opts = {}) {
      try {
        await post(
          config.url,
          {
            message: text,
            ...(opts.username ? { username: opts.username } : {}),
            ...(opts.iconUrl ? { icon_url: opts.iconUrl } : {}),
            ...(opts.botId ? { bot_id: opts.botId } : {}),
            ...(opts.taskId ? { task_id: opts.taskId } : {}),
          },
          opts.deliveryId,
          opts.signal,
        );
        return true;
      } catch {
        return false;
      }
    },
  };
}
