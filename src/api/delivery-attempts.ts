/**
 * `GET /api/v1/deliveries/{id}/attempts` (webhooks:read): one delivery's attempts, oldest
 * first (the newest 100), as the delivery worker recorded them (`delivery_attempts`,
 * migration 0024). Each: attempt number, started_at, duration_ms, status
 * (delivered/failed/dead), http_status, error, and the last HTTP request of the attempt —
 * method, URL cut to `scheme://host`, request headers with secret values masked — with the
 * first 2048 characters of its response body. Attempts made before the table existed have
 * no rows.
 */
import { z } from "zod";
import { notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import type { DeliveryAttempt } from "../store/delivery-attempts.ts";
import type { Store } from "../store/index.ts";

const idParams = z.object({ id: z.string().min(1).max(200) });

/** The wire shape of an attempt (snake_case, ISO 8601 times). */
export function attemptJson(a: DeliveryAttempt) {
  return {
    id: a.id,
    attempt: a.attempt,
    started_at: new Date(a.startedAt).toISOString(),
    duration_ms: a.durationMs,
    status: a.status,
    http_status: a.httpStatus,
    error: a.error,
    /** HTTP requests made in this attempt (the client's own quick retries included). */
    requests: a.requests,
    request: a.last
      ? { method: a.last.method, url: a.last.url, headers: a.last.requestHeaders }
      : null,
    response: a.last
      ? { body_excerpt: a.last.responseExcerpt, truncated: a.last.responseTruncated }
      : null,
  };
}

/** What deliveryAttemptsApi needs. */
export interface DeliveryAttemptsApiOptions {
  store: Pick<Store, "deliveries" | "deliveryAttempts">;
}

/** Registers the attempts route. */
export const deliveryAttemptsApi = apiPlugin<DeliveryAttemptsApiOptions>((routes, { store }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/deliveries/:id/attempts",
    summary:
      "A delivery's attempts, oldest first: status, duration_ms, http_status, error, the last request (method, URL to the host, headers with secrets masked) and a response body excerpt",
    scope: "webhooks:read",
    params: idParams,
    async handler({ params }) {
      if (!(await store.deliveries.get(params.id))) throw notFound("Delivery");
      return (await store.deliveryAttempts.list(params.id)).map(attemptJson);
    },
  });
});
