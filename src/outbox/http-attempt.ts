/**
 * One attempt of the outbound HTTP client (`./http-client.ts`): sends one request through
 * the client's SSRF-guarded undici `Agent` under a per-attempt timeout, reads a bounded
 * prefix of the answer (draining a little more so the connection can be reused), and
 * classifies every failure as a value instead of throwing. Retrying is the client's.
 *
 * Secrets stay out: request headers are never echoed, and a network error's message has
 * the URL, its query and its userinfo scrubbed.
 */
import type { Dispatcher } from "undici";
import { redactUrl } from "../lib/redact.ts";
import { UrlNotAllowedError } from "./ssrf.ts";

/** Bytes read in all to keep the connection reusable; more closes it. */
const DRAIN_LIMIT = 64 * 1024;

/** What one attempt came to. */
export type AttemptOutcome =
  | {
      kind: "response";
      /** Any HTTP status, 2xx or not. */
      status: number;
      /** From `Retry-After`, ms. */
      retryAfterMs?: number;
      /** The first `maxResponseBytes` of the body, as UTF-8 text. */
      body: string;
      truncated: boolean;
      /** Lower-case names; repeated headers joined with ", ". */
      headers: Record<string, string>;
    }
  /** The SSRF guard refused the address dialled. */
  | { kind: "refused"; reason: string }
  | { kind: "timeout" }
  /** The caller's signal fired. */
  | { kind: "aborted" }
  | { kind: "network"; error: string }
  /** undici refused the request itself (e.g. a bad header value). */
  | { kind: "invalid"; error: string };

/** One request of {@link sendOnce}. */
export interface Attempt {
  method: string;
  /** The URL to dial: `target` without its userinfo (and fragment). */
  dialUrl: string;
  /** The parsed URL, for redacted error messages. */
  target: URL;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  /** Connect + headers + body, ms. */
  timeoutMs: number;
  /** The caller's signal; aborts the attempt at once. */
  signal: AbortSignal | undefined;
  /** How much of the response body to keep, bytes. */
  maxResponseBytes: number;
}

/** Sends `a` once through `agent`; never throws. */
export async function sendOnce(agent: Dispatcher, a: Attempt): Promise<AttemptOutcome> {
  const timer = new AbortController();
  const timeout = setTimeout(
    () => timer.abort(new DOMException("timeout", "TimeoutError")),
    a.timeoutMs,
  );
  const signal = a.signal ? AbortSignal.any([timer.signal, a.signal]) : timer.signal;
  try {
    const { request } = await import("undici"); // loaded by the client's first request
    const res = await request(a.dialUrl, {
      dispatcher: agent,
      method: a.method,
      headers: a.headers,
      body: a.body,
      signal,
    });
    const { text, truncated } = await readBodyPrefix(res.body, a.maxResponseBytes);
    return {
      kind: "response",
      status: res.statusCode,
      retryAfterMs: parseRetryAfter(res.headers["retry-after"]),
      body: text,
      truncated,
      headers: flattenHeaders(res.headers),
    };
  } catch (err) {
    if (a.signal?.aborted) return { kind: "aborted" };
    if (timer.signal.aborted) return { kind: "timeout" };
    if (err instanceof UrlNotAllowedError) return { kind: "refused", reason: err.reason };
    const code = (err as { code?: string }).code;
    if (code === "UND_ERR_INVALID_ARG" || code === "UND_ERR_NOT_SUPPORTED") {
      return { kind: "invalid", error: `invalid request to ${redactUrl(a.target)}` };
    }
    if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
      return { kind: "timeout" };
    }
    return { kind: "network", error: describeNetworkError(err, a.target) };
  } finally {
    clearTimeout(timeout);
  }
}

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3: delay-seconds or HTTP-date).
 * @returns the delay in ms (≥ 0), or undefined when absent or malformed.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now = Date.now(),
): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Reads at most `limit` bytes of text, draining the rest up to DRAIN_LIMIT (more closes
 * the connection).
 */
async function readBodyPrefix(
  body: AsyncIterable<Uint8Array>,
  limit: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.byteLength;
    if (kept < limit) {
      const part = Buffer.from(chunk).subarray(0, limit - kept);
      chunks.push(part);
      kept += part.byteLength;
    }
    if (seen > Math.max(limit, DRAIN_LIMIT)) break;
  }
  return { text: Buffer.concat(chunks).toString("utf8"), truncated: seen > kept };
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

/** A secret-free description of a network error: its code and a scrubbed message. */
function describeNetworkError(err: unknown, url: URL): string {
  const e = err as { code?: string; message?: string; name?: string };
  let message = typeof e?.message === "string" ? e.message : String(err);
  for (const secret of [url.href, url.search, url.username, url.password]) {
    if (secret.length >= 4) message = message.split(secret).join("[redacted]");
  }
  const code = e?.code ?? e?.name ?? "Error";
  return message && message !== code
    ? `network error: ${code}: ${message}`
    : `network error: ${code}`;
}
