/**
 * The `webhook` dispatcher: POSTs `{task_id, result}` as JSON to `dispatch_config.url`
 * through the one outbound client (timeout, inline retries, SSRF guard). The delivery id
 * is sent as `webhook-id` (Standard Webhooks) so the receiver can drop duplicates.
 */
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import type { Dispatcher } from "../sdk/dispatch.ts";
import { DeliveryError } from "../sdk/errors.ts";

/** Makes the webhook dispatcher over `http`. */
export function createWebhookDispatcher(http: OutboundHttpClient): Dispatcher {
  async function post(url: unknown, body: unknown, deliveryId?: string): Promise<void> {
    if (typeof url !== "string" || !url) {
      throw new DeliveryError("dispatch_config.url is missing", { retryable: false });
    }
    const res = await http.postJson(url, body, {
      headers: deliveryId ? { "webhook-id": deliveryId } : {},
    });
    if (res.ok) return;
    throw new DeliveryError(res.error ?? `HTTP ${res.status}`, {
      retryable: res.retryable,
      status: res.status,
      retryAfterMs: res.retryAfterMs,
    });
  }
  return {
    async deliver(task, result, opts) {
      await post(task.dispatch_config.url, { task_id: task.id, result }, opts.deliveryId);
    },
    async postMessage(config, text) {
      try {
        await post(config.url, { message: text });
        return true;
      } catch {
        return false;
      }
    },
  };
}
