/**
 * Slack's Web API through `@slack/web-api`'s `WebClient`, sending every request through
 * the server's one outbound client (`ctx.http`: SSRF guard, per-try timeout, the caller's
 * abort signal) with no retries of its own: the outbox retries, on its schedule. Failures
 * become `ctx.errors.DeliveryError`s.
 */
import { type FetchFunction, type Logger, LogLevel, WebClient } from "@slack/web-api";
import type { IntegrationContext } from "switchyard";

/** Slack's Web API base URL (https://api.slack.com/web). */
export const DEFAULT_SLACK_API_URL = "https://slack.com/api/";

/** Largest Web API answer read (bytes): a page of history with metadata fits easily. */
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/**
 * Slack error codes worth trying again later (the rest — `invalid_auth`,
 * `channel_not_found`, `not_in_channel`, `is_archived`, `msg_too_long`, `missing_scope`… —
 * are final). https://api.slack.com/methods/chat.postMessage#errors
 */
const RETRYABLE_CODES = new Set([
  "ratelimited",
  "rate_limited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
]);

/** A `fetch` for WebClient that goes through `ctx.http` (no inline retries), aborted by `signal`. */
function fetchVia(ctx: IntegrationContext, signal: AbortSignal | undefined): FetchFunction {
  return async (url, init) => {
    const signals = [signal, init?.signal].filter((s): s is AbortSignal => s !== undefined);
    // One signal is passed as is: AbortSignal.any would keep it alive until it fires.
    const merged = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const res = await ctx.http.request(init?.method ?? "POST", String(url), {
      ...(init?.headers ? { headers: init.headers } : {}),
      ...(typeof init?.body === "string" ? { body: init.body } : {}),
      retries: 0,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      ...(merged ? { signal: merged } : {}),
    });
    if (res.status === null) throw new Error(res.error ?? "no response");
    const body = res.responseBody ?? "";
    const headers = res.responseHeaders ?? {};
    return {
      ok: res.status >= 200 && res.status < 300,
      status: res.status,
      statusText: "",
      url: String(url),
      headers: {
        get: (name: string) => headers[name.toLowerCase()] ?? null,
        entries: () => Object.entries(headers),
      },
      text: async () => body,
      json: async () => JSON.parse(body),
      arrayBuffer: async () => new TextEncoder().encode(body).buffer as ArrayBuffer,
    };
  };
}

/** The WebClient's log lines, into the integration's log (debug lines dropped). */
function loggerOf(ctx: IntegrationContext): Logger {
  const line = (msg: unknown[]) => msg.map(String).join(" ");
  return {
    debug() {},
    info: (...m) => ctx.log.debug({ slack: line(m) }, "slack web-api"),
    warn: (...m) => ctx.log.warn({ slack: line(m) }, "slack web-api"),
    error: (...m) => ctx.log.error({ slack: line(m) }, "slack web-api"),
    setLevel() {},
    getLevel: () => LogLevel.WARN,
    setName() {},
  };
}

/**
 * A WebClient with the bot token and `SLACK_API_URL`, whose requests `signal` aborts.
 * @throws DeliveryError (final) when `SLACK_BOT_TOKEN` is not set
 */
export function webClient(ctx: IntegrationContext, signal?: AbortSignal): WebClient {
  const token = ctx.settings.SLACK_BOT_TOKEN;
  if (!token)
    throw new ctx.errors.DeliveryError("SLACK_BOT_TOKEN is not set", { retryable: false });
  let base = ctx.settings.SLACK_API_URL || DEFAULT_SLACK_API_URL;
  if (!base.endsWith("/")) base += "/";
  return new WebClient(token, {
    slackApiUrl: base,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    allowAbsoluteUrls: false,
    fetch: fetchVia(ctx, signal),
    logger: loggerOf(ctx),
  });
}

/** The Slack error code of a failed call (`invalid_auth`…), when Slack answered one. */
export function slackErrorCode(err: unknown): string | undefined {
  const e = err as { code?: string; data?: { error?: unknown } };
  return e?.code === "slack_webapi_platform_error" && typeof e.data?.error === "string"
    ? e.data.error
    : undefined;
}

/**
 * The DeliveryError for a failed Web API call `what`: retryable for 408/429/5xx, network
 * errors and time-outs, and Slack's transient error codes; final for any other Slack error
 * (`invalid_auth`, `channel_not_found`…) or HTTP status. Secret-free (the token never is
 * in these messages).
 */
export function toDeliveryError(ctx: IntegrationContext, what: string, err: unknown) {
  const { DeliveryError, isRetryableStatus } = ctx.errors;
  if (err instanceof DeliveryError) return err;
  const e = err as {
    code?: string;
    statusCode?: number;
    retryAfter?: number;
    headers?: Record<string, string>;
    data?: { error?: string };
    message?: string;
  };
  const code = slackErrorCode(err);
  if (code) {
    return new DeliveryError(`${what}: ${code}`, { retryable: RETRYABLE_CODES.has(code) });
  }
  if (e?.code === "slack_webapi_rate_limited_error") {
    return new DeliveryError(`${what}: rate limited`, {
      status: 429,
      ...(typeof e.retryAfter === "number" ? { retryAfterMs: e.retryAfter * 1000 } : {}),
    });
  }
  if (e?.code === "slack_webapi_http_error" && typeof e.statusCode === "number") {
    return new DeliveryError(`${what}: HTTP ${e.statusCode}`, {
      status: e.statusCode,
      retryable: isRetryableStatus(e.statusCode),
    });
  }
  // A network error, a time-out, an abort, or a 429 without Retry-After.
  const reason = e?.code === "slack_webapi_request_error" ? "request failed" : "failed";
  return new DeliveryError(`${what}: ${reason}`);
}
