/**
 * The `internal` dispatcher: adds `"[Task <id> completed]\n\n<result>"` as a user message
 * to the session `dispatch_config.session_id` (optionally running its agent when
 * `dispatch_config.run_agent` is true). A retried or replayed delivery does not add it
 * twice: the delivery id is the message's dedupe key (source `internal`), recorded in the
 * message's own transaction, so a repeat is a no-op.
 */
import type { Dispatcher } from "../sdk/dispatch.ts";
import { DeliveryError } from "../sdk/errors.ts";
import { SessionNotFoundError } from "../sessions/errors.ts";
import type { SessionService } from "../sessions/service.ts";

/** The inbound receipt source of internal deliveries (receipts are kept 7 days). */
export const INTERNAL_SOURCE = "internal";

/** Makes the internal dispatcher over the one `injectMessage`. */
export function createInternalDispatcher(
  sessions: Pick<SessionService, "injectMessage">,
): Dispatcher {
  /**
   * @throws DeliveryError (not retryable) when the session id is missing or names no session
   */
  async function post(
    config: Record<string, unknown>,
    content: string,
    deliveryId?: string,
  ): Promise<void> {
    const sessionId = config.session_id;
    if (typeof sessionId !== "string" || !sessionId) {
      throw new DeliveryError("dispatch_config.session_id is missing", { retryable: false });
    }
    try {
      await sessions.injectMessage(sessionId, {
        content,
        role: "user",
        source: INTERNAL_SOURCE,
        metadata: deliveryId ? { delivery_id: deliveryId } : {},
        runAgent: config.run_agent === true,
        dedupeKey: deliveryId,
      });
    } catch (err) {
      if (err instanceof SessionNotFoundError) {
        throw new DeliveryError(`Session ${sessionId} not found`, { retryable: false });
      }
      throw err;
    }
  }
  return {
    async deliver(task, result, opts) {
      const verb = task.status === "failed" ? "failed" : "completed";
      await post(task.dispatch_config, `[Task ${task.id} ${verb}]\n\n${result}`, opts.deliveryId);
    },
    async postMessage(config, text, opts = {}) {
      try {
        await post(config, text, opts.deliveryId);
        return true;
      } catch {
        return false;
      }
    },
  };
}
