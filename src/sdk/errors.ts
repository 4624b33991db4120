/**
 * The one delivery error: what a dispatcher (or adapter `send`) throws to steer the
 * outbox's retries. Integrations reach it at run time through `ctx.errors` (they import
 * only types from the SDK); core imports it from here.
 */
import type { OutboundResult } from "./http.ts";

/** The fields of an error that steer the outbox. Any Error carrying them works too. */
export interface DeliveryErrorInfo {
  /** false: final, the delivery is dead at once. Default true: retried on the outbox schedule. */
  retryable?: boolean;
  /** HTTP status of the failed send, recorded with the attempt. */
  status?: number | null;
  /** Smallest delay before the next attempt, in ms (a provider's Retry-After or rate-limit reset). */
  retryAfterMs?: number;
}

/** An error for dispatchers to throw; retryable unless said otherwise. */
export class DeliveryError extends Error implements DeliveryErrorInfo {
  retryable: boolean;
  status: number | null;
  retryAfterMs?: number;
  constructor(message: string, info: DeliveryErrorInfo = {}) {
    super(message);
    this.name = "DeliveryError";
    this.retryable = info.retryable ?? true;
    this.status = info.status ?? null;
    if (info.retryAfterMs !== undefined) this.retryAfterMs = info.retryAfterMs;
  }
}

/**
 * Whether an HTTP status is worth retrying later: 408, 429 and 5xx are (REFERENCE.md,
 * "how outbound deliveries retry", as Svix and Stripe do); null (no response: network
 * error, timeout) is too; every other status is final.
 */
export function isRetryableStatus(status: number | null): boolean {
  return status === null || status === 408 || status === 429 || status >= 500;
}

/**
 * The DeliveryError for a failed {@link OutboundResult} (`ctx.http`'s answer), keeping
 * its status, retryability and Retry-After; `what` prefixes the message.
 * @returns undefined when the result is ok
 */
export function deliveryErrorFromResult(
  result: OutboundResult,
  what?: string,
): DeliveryError | undefined {
  if (result.ok) return undefined;
  const reason = result.error ?? `HTTP ${result.status}`;
  return new DeliveryError(what ? `${what}: ${reason}` : reason, {
    retryable: result.retryable,
    status: result.status,
    ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}),
  });
}

/** What `ctx.errors` holds: the error class and the classification, as run-time values. */
export interface IntegrationErrors {
  DeliveryError: typeof DeliveryError;
  isRetryableStatus: typeof isRetryableStatus;
  fromResult: typeof deliveryErrorFromResult;
}

/** The `ctx.errors` object (the same values core uses). */
export const integrationErrors: IntegrationErrors = {
  DeliveryError,
  isRetryableStatus,
  fromResult: deliveryErrorFromResult,
};
