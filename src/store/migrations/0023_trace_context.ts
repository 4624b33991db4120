/**
 * Migration `0023_trace_context`.
 * Observability (issue 14): a task and a delivery keep the W3C Trace Context `traceparent`
 * (https://www.w3.org/TR/trace-context/#traceparent-header, e.g.
 * `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`) of the work that made them,
 * so the task's span (run later, maybe on another instance) and the delivery's span are
 * children of the inbound request's trace. Null when tracing is off or nothing was traced.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("tasks").addColumn("traceparent", "text").execute();
    await db.schema.alterTable("deliveries").addColumn("traceparent", "text").execute();
  },
};
