/** Health, readiness, Prometheus metrics and the OpenAPI document. */
import type { Metrics } from "../http/metrics.ts";
import { openApiDocument, type RouteTable } from "../http/routes.ts";
import type { Store } from "../store/index.ts";

/**
 * Registers `/healthz`, `/readyz`, `/metrics` (scope `tasks:read`) and
 * `/api/v1/openapi.json` (built on first request from every route declared by then).
 */
export function systemRoutes(
  routes: RouteTable,
  deps: { store: Store; metrics: Metrics; version: string },
): void {
  routes.add({
    method: "GET",
    url: "/healthz",
    summary: "Liveness: the process answers",
    async handler() {
      return { status: "ok" };
    },
  });
  routes.add({
    method: "GET",
    url: "/readyz",
    summary: "Readiness: the database answers",
    handler: async (_i, reply) => {
      try {
        await deps.store.k.selectFrom("bots").select("id").limit(1).execute();
        return { status: "ready" };
      } catch {
        return reply.code(503).send({ detail: "Database unavailable" });
      }
    },
  });
  routes.add({
    method: "GET",
    url: "/metrics",
    summary: "Prometheus metrics (text format): deliveries, notifications, tasks, queue depth",
    scope: "tasks:read",
    handler: async (_i, reply) => {
      const m = await deps.metrics.render();
      return reply.type(m.contentType).send(m.body);
    },
  });
  let doc: Record<string, unknown> | undefined;
  routes.add({
    method: "GET",
    url: "/api/v1/openapi.json",
    summary: "This document",
    async handler() {
      doc ??= openApiDocument(routes, deps.version);
      return doc;
    },
  });
}
