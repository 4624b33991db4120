/**
 * Span helpers over the OpenTelemetry API (`@opentelemetry/api`) only. Until
 * `./setup.ts` registers a tracer provider, a context manager and the W3C propagator,
 * every helper here is a no-op that costs a function call: the API's no-op tracer makes
 * non-recording spans, and {@link currentTraceparent} returns null, so nothing is stored.
 *
 * Trace context between processes and across time (a task runs later, maybe on another
 * instance) is the W3C `traceparent` string (https://www.w3.org/TR/trace-context/),
 * written and read by the registered propagator, never parsed here.
 */
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { ERROR_TYPE } from "./attributes.ts";

export type { Span } from "@opentelemetry/api";
export { SpanKind } from "@opentelemetry/api";

/** The instrumentation scope name of every switchyard span. */
export const TRACER_NAME = "switchyard";

let enabled = false;

/** The span handed to `fn` while tracing is off: records nothing. */
const NOOP_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Says whether `./setup.ts` registered a tracer (so helpers record spans). */
export function tracingEnabled(): boolean {
  return enabled;
}

/** Set by `./setup.ts` only. */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

/** What a span starts with. */
export interface SpanOptions {
  /** Default INTERNAL. */
  kind?: SpanKind;
  attributes?: Attributes;
  /**
   * The parent as a stored W3C `traceparent`: the span joins that trace (a task's span
   * under the inbound request). Null: a new trace (queued work that came with none must
   * not join whatever context happened to wake its worker). Undefined: the active span,
   * if any, is the parent.
   */
  parent?: string | null;
}

/**
 * Runs `fn` inside a new active span named `name`, ended when `fn` settles. A throw sets
 * the span's status to ERROR with `error.type` (the error's class name) and rethrows; the
 * message is not recorded (it may hold secrets). With tracing off `fn` just runs.
 */
export async function inSpan<T>(
  name: string,
  opts: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn(NOOP_SPAN);
  const parent =
    opts.parent === undefined
      ? context.active()
      : opts.parent === null
        ? ROOT_CONTEXT
        : contextOf(opts.parent);
  const tracer = trace.getTracer(TRACER_NAME);
  return tracer.startActiveSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        markError(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** Sets `span`'s status to ERROR with `error.type` = the error's name (no message). */
export function markError(span: Span, err: unknown): void {
  const type = (err as Error)?.name || typeof err;
  span.setAttribute(ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** The active span's W3C `traceparent`, to store with work done later; null when off. */
export function currentTraceparent(): string | null {
  if (!enabled) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** A context whose remote parent is `traceparent` (an invalid one gives a root context). */
export function contextOf(traceparent: string): Context {
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/**
 * Adds `traceparent` (and `tracestate`) of the active span to outbound request `headers`
 * unless they are set already. Nothing when off.
 */
export function injectTraceHeaders(headers: Record<string, string>): void {
  if (!enabled) return;
  if (Object.keys(headers).some((k) => k.toLowerCase() === "traceparent")) return;
  propagation.inject(context.active(), headers);
}
