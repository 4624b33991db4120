/**
 * The one outbound HTTP client of switchyard (DESIGN.md §6 "Outbound HTTP, once").
 * Every outbound POST — webhook dispatcher, hook webhooks, event webhooks,
 * notifications — goes through `OutboundHttpClient`.
 *
 * - Per-attempt timeout via AbortSignal; a caller's signal stops everything at once.
 * - Inline retries on 408, 429, 5xx, network errors and timeouts, after
 *   `baseRetryDelayMs × 2^attempt` ms, or `Retry-After` (RFC 9110 §10.2.3) when larger.
 *   Longer waits are left to the durable outbox (REFERENCE.md, Svix retry rules). Under an
 *   outbox attempt's signal (`./attempt-deadline.ts`) a timeout is not retried inline (a
 *   receiver that hangs gets one try per attempt, so it holds a worker slot for one
 *   timeout, not a chain of them), a retry whose wait would end past the attempt's
 *   deadline is left to the schedule, and the signal ends a try that outlives it.
 * - Redirects are never followed (3xx is a failure); 410 is reported as is so callers can
 *   disable the endpoint.
 * - SSRF guard at connect time (`./connector.ts`): the address checked is the address
 *   dialled.
 * - Never echoes request headers; URLs in messages are reduced to `scheme://host:port`.
 *
 * This module is the retry policy and the result; one attempt on the wire (timeout, bounded
 * body read, failure classification, `Retry-After`) is `./http-attempt.ts`.
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { Agent } from "undici";
import type { OutboundResult, PostOptions } from "../sdk/http.ts";
import { injectTraceHeaders } from "../telemetry/spans.ts";
import { deadlineOf } from "./attempt-deadline.ts";
import { noteExchange } from "./attempt-exchanges.ts";
import {
  type Connector,
  createGuardedConnector,
  type GuardedConnectorOptions,
} from "./connector.ts";
import { sendOnce } from "./http-attempt.ts";
import { parseHttpUrl, type Resolver, UrlNotAllowedError } from "./ssrf.ts";

/** Options of `OutboundHttpClient`. */
export interface OutboundHttpOptions {
  /** Allow loopback/private/link-local destinations (`SWITCHYARD_ALLOW_PRIVATE_URLS`). */
  allowPrivate: boolean;
  /** Host name resolver used by the SSRF guard; default `systemResolver`. */
  resolver?: Resolver;
  /** Per-attempt timeout in ms (connect + headers + body); default 15000. */
  defaultTimeoutMs?: number;
  /** `User-Agent` header; default "switchyard". */
  userAgent?: string;
  /**
   * Base undici connector that opens sockets; it receives the already checked IP as
   * `hostname`. For tests only (to record the dialled address and redirect to 127.0.0.1).
   */
  connector?: Connector;
  /** First inline retry delay in ms, doubled per attempt (100, 200, 400…); default 100. */
  baseRetryDelayMs?: number;
  /**
   * Longest `Retry-After` in ms honoured inline; default 60000. A longer one ends inline
   * retrying and is returned as `retryAfterMs` for the outbox to schedule.
   */
  maxRetryAfterMs?: number;
  /**
   * Waits `ms` between inline retries, rejecting when `signal` aborts; default a timer.
   * Tests pass one that records the delay instead of waiting it out.
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The default inline retry wait: a timer, cancelled by `signal`. */
const timerSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  sleep(ms, undefined, signal ? { signal } : undefined);

/** Response body bytes kept in a result unless `maxResponseBytes` says otherwise. */
const RESPONSE_BODY_LIMIT = 2048;

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function describeStatus(status: number): string {
  if (status >= 300 && status < 400) return "redirect not followed";
  if (status === 410) return "HTTP 410 Gone";
  return `HTTP ${status}`;
}

/**
 * The outbound HTTP client. One instance per server; it owns an undici `Agent` whose
 * connector enforces the SSRF policy. Methods never throw for HTTP, network, timeout or
 * SSRF failures — they resolve to an `OutboundResult`.
 */
export class OutboundHttpClient {
  /**
   * Made by the first request: undici is imported then, so a server that has sent nothing
   * does not hold it (about 3 MB).
   */
  #agent: Promise<Agent> | undefined;
  readonly #connect: Omit<GuardedConnectorOptions, "connector"> & { connector?: Connector };
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #baseDelayMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  /** @throws TypeError only for invalid option values (programmer error). */
  constructor(opts: OutboundHttpOptions) {
    this.#timeoutMs = opts.defaultTimeoutMs ?? 15_000;
    this.#userAgent = opts.userAgent ?? "switchyard";
    this.#baseDelayMs = opts.baseRetryDelayMs ?? 100;
    this.#maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.#sleep = opts.sleep ?? timerSleep;
    for (const [name, v] of [
      ["defaultTimeoutMs", this.#timeoutMs],
      ["baseRetryDelayMs", this.#baseDelayMs],
      ["maxRetryAfterMs", this.#maxRetryAfterMs],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) throw new TypeError(`${name} must be a number ≥ 0`);
    }
    this.#connect = {
      allowPrivate: opts.allowPrivate,
      resolver: opts.resolver,
      connector: opts.connector,
    };
  }

  /** The SSRF-guarded undici `Agent`, made on first use. */
  #getAgent(): Promise<Agent> {
    this.#agent ??= import("undici").then(
      ({ Agent, buildConnector }) =>
        new Agent({
          connect: createGuardedConnector({
            ...this.#connect,
            connector: this.#connect.connector ?? buildConnector({}),
          }),
        }),
    );
    return this.#agent;
  }

  /**
   * POSTs `body` as JSON (`JSON.stringify` unless it is already a string) with
   * `content-type: application/json`. See `request` for retries and the result.
   */
  postJson(url: string, body: unknown, opts: PostOptions = {}): Promise<OutboundResult> {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return this.request("POST", url, {
      ...opts,
      headers: { "content-type": "application/json", ...opts.headers },
      body: text,
    });
  }

  /**
   * Sends one request with inline retries (see the module comment). URL userinfo, if any,
   * is sent as `authorization: Basic …` (unless an authorization header is given) and
   * never appears in the result.
   * @returns an `OutboundResult`; an invalid URL or a non-http(s) scheme gives
   *   `ok: false, retryable: false, attempts: 0` with "destination not allowed: <reason>".
   */
  async request(
    method: string,
    url: string,
    opts: PostOptions & { body?: string | Uint8Array } = {},
  ): Promise<OutboundResult> {
    const started = performance.now();
    const finish = (r: Omit<OutboundResult, "durationMs">): OutboundResult => ({
      ...r,
      durationMs: Math.round(performance.now() - started),
    });

    let target: URL;
    try {
      target = parseHttpUrl(url);
    } catch (err) {
      const reason = err instanceof UrlNotAllowedError ? err.reason : "invalid URL";
      return finish({
        ok: false,
        status: null,
        attempts: 0,
        retryable: false,
        error: `destination not allowed: ${reason}`,
      });
    }

    const baseHeaders: Record<string, string> = { "user-agent": this.#userAgent };
    if (target.username || target.password) {
      const user = decodeURIComponent(target.username);
      const pass = decodeURIComponent(target.password);
      baseHeaders.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    }
    const dialUrl = `${target.origin}${target.pathname}${target.search}`;
    const retries = Math.max(0, Math.floor(opts.retries ?? 2));
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const signal = opts.signal;
    const deadline = deadlineOf(signal);
    const abortedResult = (attempts: number, status: number | null) =>
      finish({ ok: false, status, attempts, retryable: true, error: "aborted by caller" });

    let attempts = 0;
    let lastStatus: number | null = null;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) return abortedResult(attempts, lastStatus);
      const headers = { ...baseHeaders, ...opts.headers, ...opts.headersForAttempt?.(attempt) };
      injectTraceHeaders(headers); // W3C traceparent of the active span (delivery), when tracing
      attempts++;
      const out = await sendOnce(await this.#getAgent(), {
        method,
        dialUrl,
        target,
        headers,
        body: opts.body,
        timeoutMs,
        signal,
        maxResponseBytes: opts.maxResponseBytes ?? RESPONSE_BODY_LIMIT,
      });
      noteExchange({
        method,
        url: target,
        headers,
        status: out.kind === "response" ? out.status : null,
        body: out.kind === "response" ? out.body : undefined,
        truncated: out.kind === "response" && out.truncated,
      });

      let retryAfterMs: number | undefined;
      let failure: Omit<OutboundResult, "durationMs">;
      switch (out.kind) {
        case "aborted":
          return abortedResult(attempts, lastStatus);
        case "refused":
          return finish({
            ok: false,
            status: null,
            attempts,
            retryable: false,
            error: `destination not allowed: ${out.reason}`,
          });
        case "invalid":
          return finish({ ok: false, status: null, attempts, retryable: false, error: out.error });
        case "response": {
          lastStatus = out.status;
          retryAfterMs = out.retryAfterMs;
          const base = {
            status: out.status,
            attempts,
            responseBody: out.body,
            responseHeaders: out.headers,
            ...(out.truncated ? { responseTruncated: true } : {}),
            ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          };
          if (out.status >= 200 && out.status < 300) {
            return finish({ ok: true, retryable: false, ...base });
          }
          const retryable = isRetryableStatus(out.status);
          failure = { ok: false, retryable, error: describeStatus(out.status), ...base };
          if (!retryable) return finish(failure);
          break;
        }
        case "timeout":
          lastStatus = null;
          failure = {
            ok: false,
            status: null,
            attempts,
            retryable: true,
            error: `timeout after ${timeoutMs} ms`,
          };
          break;
        case "network":
          lastStatus = null;
          failure = { ok: false, status: null, attempts, retryable: true, error: out.error };
          break;
      }

      if (attempt >= retries) return finish(failure);
      if (retryAfterMs !== undefined && retryAfterMs > this.#maxRetryAfterMs) {
        return finish(failure); // too long to wait inline: the outbox schedules it
      }
      const delay = Math.max(this.#baseDelayMs * 2 ** attempt, retryAfterMs ?? 0);
      // Under an outbox attempt's deadline: a receiver that timed out gets no second try
      // in this attempt, and a wait that ends past the deadline is the schedule's.
      if (deadline !== undefined && (out.kind === "timeout" || Date.now() + delay >= deadline)) {
        return finish(failure);
      }
      try {
        await this.#sleep(delay, signal);
      } catch {
        return abortedResult(attempts, lastStatus);
      }
    }
  }

  /**
   * GETs a file and hands back its body as a stream, through the same SSRF-guarded agent
   * (no retries, redirects not followed). `timeoutMs` (default the client's) bounds the
   * whole download, body included; `signal` stops it too.
   * @throws Error with a secret-free message (the URL cut to scheme and host) for a refused
   *   or invalid URL, a network error, a timeout or a non-2xx status
   */
  async download(
    url: string,
    opts: { headers?: Record<string, string>; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<{
    status: number;
    headers: Record<string, string>;
    body: AsyncIterable<Uint8Array>;
  }> {
    let target: URL;
    try {
      target = parseHttpUrl(url);
    } catch (err) {
      const reason = err instanceof UrlNotAllowedError ? err.reason : "invalid URL";
      throw new Error(`destination not allowed: ${reason}`);
    }
    const timer = AbortSignal.timeout(opts.timeoutMs ?? this.#timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timer, opts.signal]) : timer;
    const where = `${target.protocol}//${target.host}`;
    const { request } = await import("undici");
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${target.origin}${target.pathname}${target.search}`, {
        dispatcher: await this.#getAgent(),
        method: "GET",
        headers: { "user-agent": this.#userAgent, ...opts.headers },
        signal,
      });
    } catch (err) {
      if (err instanceof UrlNotAllowedError)
        throw new Error(`destination not allowed: ${err.reason}`);
      if (timer.aborted) throw new Error(`download from ${where}: timeout`);
      throw new Error(
        `download from ${where} failed: ${(err as { code?: string }).code ?? "network error"}`,
      );
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      res.body.resume();
      throw new Error(`download from ${where}: ${describeStatus(res.statusCode)}`);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
    }
    return { status: res.statusCode, headers, body: res.body };
  }

  /** Closes pooled connections; waits for in-flight requests to finish. */
  async close(): Promise<void> {
    if (this.#agent) await (await this.#agent).close();
  }
}
