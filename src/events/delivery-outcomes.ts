/**
 * What happens after each recorded outbox attempt (the delivery worker's `onOutcome`): the
 * attempt is counted in the metrics, and a delivery that went dead emits an `error` event
 * `{source: "delivery", delivery_id, target_type, task_id, http_status, error}` — except
 * for an event delivery's own death, which could otherwise loop, and a hook webhook's
 * (best-effort forwarding of lifecycle events; its death is logged by the worker).
 */
import type { AttemptOutcome } from "../outbox/outcomes.ts";
import type { Delivery } from "../store/deliveries.ts";
import { EVENT_TARGET_TYPE, type EventService } from "./events.ts";
import { HOOK_WEBHOOK_TARGET_TYPE } from "./hook-webhooks.ts";

/** What {@link deliveryOutcomeReporter} reports to. */
export interface DeliveryOutcomeDeps {
  metrics: { deliveryAttempt(targetType: string, outcome: string, durationMs: number): void };
  /**
   * The event service, looked up at call time (it is built after the delivery worker,
   * which it registers its sender with).
   */
  events: () => Pick<EventService, "emit">;
}

/** Makes the `onOutcome` callback; it never throws and never waits. */
export function deliveryOutcomeReporter(
  deps: DeliveryOutcomeDeps,
): (d: Delivery, o: AttemptOutcome) => void {
  return (d, o) => {
    deps.metrics.deliveryAttempt(d.targetType, o.status, o.durationMs);
    if (o.status !== "dead") return;
    if (d.targetType === EVENT_TARGET_TYPE || d.targetType === HOOK_WEBHOOK_TARGET_TYPE) return;
    deps.events().emit("error", {
      source: "delivery",
      delivery_id: d.id,
      target_type: d.targetType,
      task_id: d.taskId,
      http_status: o.httpStatus,
      error: o.error ?? null,
    });
  };
}
