/**
 * The `example` dispatcher: POSTs `{channel, text, delivery_id}` to EXAMPLE_OUTBOUND_URL
 * through `ctx.http` (the server's one outbound client: timeouts, retries, SSRF guard).
 * A thrown error sends the delivery back to the outbox, which retries it on its schedule.
 */
import type { DispatcherDefinition } from "switchyard";

const dispatcher: DispatcherDefinition = (ctx) => {
  async function post(body: Record<string, unknown>): Promise<void> {
    const url = ctx.settings.EXAMPLE_OUTBOUND_URL;
    if (!url)
      throw Object.assign(new Error("EXAMPLE_OUTBOUND_URL is not set"), { retryable: false });
    const res = await ctx.http.postJson(url, body);
    if (!res.ok) {
      throw Object.assign(new Error(res.error ?? `HTTP ${res.status}`), {
        retryable: res.retryable,
        status: res.status,
        retryAfterMs: res.retryAfterMs,
      });
    }
  }
  return {
    async deliver(task, result, opts) {
      await post({
        channel: task.dispatch_config.channel,
        text: result,
        delivery_id: opts.deliveryId,
      });
    },
    async postMessage(config, text) {
      try {
        await post({ channel: config.channel, text });
        return true;
      } catch {
        return false;
      }
    },
  };
};

export default dispatcher;
