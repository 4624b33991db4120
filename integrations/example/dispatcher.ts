/**
 * The `example` dispatcher: POSTs `{channel, text, delivery_id}` to EXAMPLE_OUTBOUND_URL
 * through `ctx.http` (the server's one outbound client: timeouts, retries, SSRF guard).
 * A thrown `ctx.errors.DeliveryError` sends the delivery back to the outbox, which retries
 * it on its schedule (a failed POST keeps its status, retryability and Retry-After through
 * `ctx.errors.fromResult`); `retryable: false` makes it dead at once.
 */
import type { DispatcherDefinition } from "switchyard";

const dispatcher: DispatcherDefinition = (ctx) => {
  async function post(body: Record<string, unknown>): Promise<void> {
    const url = ctx.settings.EXAMPLE_OUTBOUND_URL;
    if (!url) {
      throw new ctx.errors.DeliveryError("EXAMPLE_OUTBOUND_URL is not set", { retryable: false });
    }
    const failure = ctx.errors.fromResult(await ctx.http.postJson(url, body));
    if (failure) throw failure;
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
