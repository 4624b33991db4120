/** Health, readiness, Prometheus metrics and the OpenAPI document. */
import type { Metrics } from "../http/metrics.ts";
import { apiPlugin, type OpenApiCollector, openApiDocument } from "../http/routes.ts";
import type { Store } from "../store/index.ts";

/** What systemApi needs. */
export interface SystemApiOptions {
  store: Store;
  metrics: Metrics;
  /** Package version, shown in the document. */
  version: string;
  /** The server's declared routes, for `/api/v1/openapi.json`. */
  openApi: OpenApiCollector;
}

/**
 * Registers `/healthz`, `/readyz`, `/metrics` (scope `tasks:read`) and
 * `/api/v1/openapi.json` (built on first request from every route declared by then).
 */
export const systemApi = apiPlugin<SystemApiOptions>((routes, deps) => {
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
        await deps.store.ping();
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
      doc ??= openApiDocument(deps.openApi, deps.version);
      return doc;
    },
  });
});
