/**
 * `/api/v1/deliveries…`: the outbox as users see it — list (filter, page), read, replay,
 * and its destinations (receivers) with their circuit breakers.
 * Responses never carry secrets: targets are redacted (secret-named keys masked, URLs cut
 * to `scheme://host/…`), payloads appear on the single read only, redacted the same way.
 */
import { z } from "zod";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import { redactConfig } from "../lib/redact.ts";
import type { DestinationBreaker } from "../outbox/breaker.ts";
import type { Delivery } from "../store/deliveries.ts";
import type { Store } from "../store/index.ts";

const STATUSES = ["pending", "delivered", "failed", "dead"] as const;

const idParams = z.object({ id: z.string().min(1).max(200) });

const listQuery = z.object({
  status: z.enum(STATUSES).optional(),
  subscription_id: z.string().min(1).max(200).optional(),
  task_id: z.string().min(1).max(200).optional(),
  target_type: z.string().min(1).max(100).optional(),
  destination: z.string().min(1).max(500).optional(),
  /** The previous page's last id (a cursor): only older deliveries. */
  before: z
    .string()
    .regex(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
      "must be a delivery id",
    )
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/**
 * The wire shape of a delivery (times ISO 8601): id (also the `webhook-id` sent),
 * task_id, subscription_id, target_type, target (redacted), destination (the receiver:
 * origin and a hash of the URL, see `lib/destination.ts`), status, attempts,
 * next_attempt_at, last_status (HTTP), last_error, created_at, updated_at, delivered_at.
 */
export function deliveryJson(d: Delivery) {
  return {
    id: d.id,
    task_id: d.taskId,
    subscription_id: d.subscriptionId,
    target_type: d.targetType,
    target: redactConfig(d.target) as Record<string, unknown>,
    destination: d.destination,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.status === "pending" || d.status === "failed" ? iso(d.nextAttemptAt) : null,
    last_status: d.lastStatus,
    last_error: d.lastError,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    delivered_at: iso(d.deliveredAt),
  };
}

/** What deliveriesApi needs. */
export interface DeliveriesApiOptions {
  store: Store;
  poke: () => void;
  /** This instance's circuit breakers (destinations with failures on record). */
  breakers: () => DestinationBreaker[];
}

/** Registers the delivery routes; `poke` wakes the delivery worker after a replay. */
export const deliveriesApi = apiPlugin<DeliveriesApiOptions>(
  (routes, { store, poke, breakers }) => {
    routes.add({
      method: "GET",
      url: "/api/v1/deliveries/destinations",
      summary:
        "Receivers with deliveries waiting or failures on record: {destination, state (closed, open = parked by the circuit breaker, half_open = probing), consecutive_failures, open_until, last_error, times_opened, waiting, in_flight}; breaker states are this instance's",
      scope: "webhooks:read",
      async handler() {
        const counts = new Map(
          (await store.deliveries.countByDestination()).map((c) => [c.destination, c]),
        );
        const states = new Map(breakers().map((b) => [b.destination, b]));
        const names = [...new Set([...states.keys(), ...counts.keys()])].sort();
        return names.map((destination) => {
          const b = states.get(destination);
          const c = counts.get(destination);
          return {
            destination,
            state: b?.state ?? "closed",
            consecutive_failures: b?.consecutiveFailures ?? 0,
            open_until: iso(b?.openUntil ?? null),
            last_error: b?.lastError ?? null,
            times_opened: b?.opened ?? 0,
            waiting: c?.waiting ?? 0,
            in_flight: c?.leased ?? 0,
          };
        });
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/deliveries",
      summary:
        "Outbox deliveries, newest first; filter by status, subscription_id, task_id, target_type; page with before=<last id>",
      scope: "webhooks:read",
      query: listQuery,
      async handler({ query }) {
        const list = await store.deliveries.list({
          status: query.status,
          subscriptionId: query.subscription_id,
          taskId: query.task_id,
          targetType: query.target_type,
          destination: query.destination,
          before: query.before,
          limit: query.limit,
        });
        return list.map(deliveryJson);
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/deliveries/:id",
      summary: "A delivery, with its payload (redacted)",
      scope: "webhooks:read",
      params: idParams,
      async handler({ params }) {
        const d = await store.deliveries.get(params.id);
        if (!d) throw notFound("Delivery");
        return { ...deliveryJson(d), payload: redactConfig(d.payload) };
      },
    });

    routes.add({
      method: "POST",
      url: "/api/v1/deliveries/:id/replay",
      summary:
        "Send a delivered, failed or dead delivery again with the same id (webhook-id); 409 while it is pending or being sent",
      scope: "webhooks:write",
      params: idParams,
      async handler({ params }) {
        if (!(await store.deliveries.replay(params.id))) {
          const d = await store.deliveries.get(params.id);
          if (!d) throw notFound("Delivery");
          throw new HttpError(409, "Delivery is pending or being sent; replay it once it settled");
        }
        poke();
        return deliveryJson((await store.deliveries.get(params.id))!);
      },
    });
  },
);
