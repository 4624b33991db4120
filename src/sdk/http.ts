/** The one outbound HTTP client as integrations see it (`ctx.http`). */

/** Options of one outbound request. Times in ms, sizes in bytes. */
export interface PostOptions {
  /** Extra request headers (never echoed in errors). */
  headers?: Record<string, string>;
  /** Per-attempt timeout in ms; default the server's (15 000). */
  timeoutMs?: number;
  /** Inline retries after the first attempt on 408/429/5xx/network; default 2 (so at most 3 attempts). */
  retries?: number;
  /** Caller's abort signal: aborting stops the current attempt and all retries. */
  signal?: AbortSignal;
  /**
   * Headers recomputed for each attempt (0-based attempt index), merged over `headers`;
   * e.g. a fresh `webhook-timestamp` and signature per attempt (Standard Webhooks).
   */
  headersForAttempt?: (attempt: number) => Record<string, string>;
  /**
   * How much of the response body to keep in `responseBody`, in bytes; default 2048
   * (enough for an error message). Raise it to read an API response (e.g. 10 MiB).
   */
  maxResponseBytes?: number;
}

/** Outcome of a request; returned (never thrown) for every HTTP, network, timeout and SSRF failure. */
export interface OutboundResult {
  /** True for a 2xx response. */
  ok: boolean;
  /** HTTP status of the last response, or null when none was received. */
  status: number | null;
  /** Attempts made (0 when aborted before the first one, or for an invalid URL or scheme). */
  attempts: number;
  /** Whether a later retry (by the outbox) may succeed: 408, 429, 5xx, network, timeout. */
  retryable: boolean;
  /** Server's `Retry-After` in ms from the last response, when it sent one. */
  retryAfterMs?: number;
  /** Short, secret-free description of the failure, absent when ok. */
  error?: string;
  /** The last response body, decoded as UTF-8, cut at `maxResponseBytes` (default 2 KiB). */
  responseBody?: string;
  /** True when `responseBody` was cut at `maxResponseBytes`. */
  responseTruncated?: boolean;
  /** Headers of the last response (names lower-case; repeated ones joined with ", "). */
  responseHeaders?: Record<string, string>;
  /** Wall time of the whole call, retries and waits included, in ms. */
  durationMs: number;
}

/**
 * The one outbound HTTP client (timeouts, inline retries with backoff and Retry-After,
 * SSRF guard, no redirects); never throws for HTTP or network errors.
 */
export interface IntegrationHttp {
  /** POSTs `body` as JSON. */
  postJson(url: string, body: unknown, opts?: PostOptions): Promise<OutboundResult>;
  /** Any method; `body` is sent as is. */
  request(
    method: string,
    url: string,
    opts?: PostOptions & { body?: string | Uint8Array },
  ): Promise<OutboundResult>;
}

/** Outbound signing as integrations see it (`ctx.sign`): the server's one signing module. */
export interface IntegrationSign {
  /**
   * Standard Webhooks headers (standardwebhooks.com) for one attempt: `webhook-id` (`msgId`),
   * `webhook-timestamp` (now, Unix seconds) and `webhook-signature` (`v1,<base64>` over
   * `{id}.{timestamp}.{body}`). Compute them afresh for every attempt (`headersForAttempt`).
   * A `whsec_` secret is the spec's base64 key; any other string is used as UTF-8 bytes.
   * @throws Error (secret-free message) when a `whsec_` secret is not valid base64
   */
  standardWebhooks(msgId: string, body: string, secret: string): Record<string, string>;
}
