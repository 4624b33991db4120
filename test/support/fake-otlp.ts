/**
 * A fake OpenTelemetry collector for tests: an OTLP/HTTP receiver on 127.0.0.1 that
 * accepts `POST /v1/traces` in the JSON encoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding;
 * gzip too), decodes the spans and keeps them, flattened, with their resource's
 * `service.name`. It answers 200 `{}` (an ExportTraceServiceResponse with nothing
 * rejected); anything else gets 404 / 415.
 */
import { gunzipSync } from "node:zlib";
import { readBody, sendJson, startLocalServer } from "./http-server.ts";

/** One received span, its attributes decoded to plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  service: string | undefined;
  /** The instrumentation scope's name. */
  scope: string | undefined;
}

/** A running fake collector. */
export interface FakeOtlp {
  /** Base URL, e.g. `http://127.0.0.1:4318`: what `OTEL_EXPORTER_OTLP_ENDPOINT` is set to. */
  url: string;
  spans: ReceivedSpan[];
  /** Every request received, any path (export requests and strays). */
  requests: number;
  /** Resolves once a span matching `pred` arrived; rejects after `timeoutMs` (default 10 s). */
  waitForSpan(pred: (s: ReceivedSpan) => boolean, timeoutMs?: number): Promise<ReceivedSpan>;
  close(): Promise<void>;
}

/** An OTLP JSON AnyValue to a plain value (int64 may come as a string). */
export function anyValue(v: any): unknown {
  if (v == null) return undefined;
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return Number(v.doubleValue);
  if ("arrayValue" in v) return (v.arrayValue?.values ?? []).map(anyValue);
  if ("kvlistValue" in v) return attributesOf(v.kvlistValue?.values);
  if ("bytesValue" in v) return v.bytesValue;
  return undefined;
}

function attributesOf(list: any[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** Starts the receiver. */
export async function startFakeOtlp(): Promise<FakeOtlp> {
  const spans: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  let requests = 0;
  const local = await startLocalServer(async (req, res) => {
    requests++;
    const raw = await readBody(req);
    if (req.method !== "POST" || req.url?.split("?")[0] !== "/v1/traces") {
      sendJson(res, 404, { error: "not found" });
      return;
    }
    if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) {
      sendJson(res, 415, { error: "this fake decodes the JSON encoding only" });
      return;
    }
    const body = JSON.parse(
      (req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString("utf8"),
    );
    for (const rs of body.resourceSpans ?? []) {
      const service = attributesOf(rs.resource?.attributes)["service.name"] as string | undefined;
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? "",
            name: s.name,
            kind: Number(s.kind ?? 0),
            attributes: attributesOf(s.attributes),
            statusCode: Number(s.status?.code ?? 0),
            service,
            scope: ss.scope?.name,
          });
        }
      }
    }
    for (const w of [...waiters]) w();
    sendJson(res, 200, {});
  });
  return {
    url: local.url,
    spans,
    get requests() {
      return requests;
    },
    waitForSpan(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = spans.find(pred);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(onSpans);
          resolve(found);
          return true;
        };
        const onSpans = () => void check();
        const timer = setTimeout(() => {
          waiters.delete(onSpans);
          reject(new Error(`no matching span within ${timeoutMs} ms (${spans.length} received)`));
        }, timeoutMs);
        if (!check()) waiters.add(onSpans);
      });
    },
    close: () => local.close(),
  };
}
