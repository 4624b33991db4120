/**
 * The `internal` dispatcher: adds `"[Task <id> completed]\n\n<result>"` as a user message
 * to the session `dispatch_config.session_id` (optionally running its agent when
 * `dispatch_config.run_agent` is true). A retried delivery does not add it twice: the
 * message carries the delivery id and is looked up first.
 */
import type { Kysely } from "kysely";
import type { Dispatcher } from "../sdk/dispatch.ts";
import { DeliveryError } from "../sdk/errors.ts";
import { SessionNotFoundError } from "../sessions/errors.ts";
import type { SessionService } from "../sessions/service.ts";
import type { Database } from "../store/schema.ts";

/** Makes the internal dispatcher. */
export function createInternalDispatcher(
  db: Kysely<Database>,
  sessions: Pick<SessionService, "injectMessage">,
): Dispatcher {
  async function post(
    config: Record<string, unknown>,
    content: string,
    deliveryId?: string,
  ): Promise<void> {
    const sessionId = config.session_id;
    if (typeof sessionId !== "string" || !sessionId) {
      throw new DeliveryError("dispatch_config.session_id is missing", { retryable: false });
    }
    if (deliveryId) {
      const seen = await db
        .selectFrom("messages")
        .select("id")
        .where("session_id", "=", sessionId)
        .where("metadata", "like", `%"delivery_id":"${deliveryId}"%`)
        .executeTakeFirst();
      if (seen) return;
    }
    try {
      await sessions.injectMessage(sessionId, {
        content,
        role: "user",
        source: "internal",
        metadata: deliveryId ? { delivery_id: deliveryId } : {},
        runAgent: config.run_agent === true,
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
    async postMessage(config, text) {
      try {
        await post(config, text);
        return true;
      } catch {
        return false;
      }
    },
  };
}
