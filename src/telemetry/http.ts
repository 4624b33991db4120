/**
 * A SERVER span per inbound HTTP request (Fastify hooks), named `<METHOD> <route>` with
 * the stable HTTP attributes (`http.request.method`, `http.route`, `url.path` without the
 * query, `http.response.status_code`; https://opentelemetry.io/docs/specs/semconv/http/http-spans/).
 * A caller's `traceparent` header makes it a child of the caller's trace. The span is the
 * active context of the route's handler, so what the handler stores (a task's
 * `traceparent`) points at it. Installed only when tracing is configured.
 */
import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  HTTP_REQUEST_METHOD,
  HTTP_RESPONSE_STATUS_CODE,
  HTTP_ROUTE,
  URL_PATH,
} from "./attributes.ts";
import { TRACER_NAME, tracingEnabled } from "./spans.ts";

/** Adds the request-span hooks to `server` (before routes are added: hooks are inherited). */
export function traceRequests(server: FastifyInstance): void {
  const open = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();

  server.addHook("onRequest", (req, _reply, done) => {
    if (!tracingEnabled()) return done();
    const parent = propagation.extract(context.active(), req.headers);
    const span = trace.getTracer(TRACER_NAME).startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: { [HTTP_REQUEST_METHOD]: req.method, [URL_PATH]: req.url.split("?")[0] },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    open.set(req, { span, ctx });
    context.with(ctx, done);
  });
  // The body is read on socket events, outside of the context set above: the handler gets it
  // back here, just before it runs.
  server.addHook("preHandler", (req, _reply, done) => {
    const s = open.get(req);
    if (!s) return done();
    context.with(s.ctx, done);
  });
  server.addHook("onResponse", (req, reply, done) => {
    const s = open.get(req);
    if (s) {
      open.delete(req);
      const route = req.routeOptions?.url;
      if (route) {
        s.span.updateName(`${req.method} ${route}`);
        s.span.setAttribute(HTTP_ROUTE, route);
      }
      s.span.setAttribute(HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      if (reply.statusCode >= 500) s.span.setStatus({ code: SpanStatusCode.ERROR });
      s.span.end();
    }
    done();
  });
  server.addHook("onRequestAbort", (req, done) => {
    const s = open.get(req);
    if (s) {
      open.delete(req);
      s.span.setStatus({ code: SpanStatusCode.ERROR, message: "client aborted" });
      s.span.end();
    }
    done();
  });
}
