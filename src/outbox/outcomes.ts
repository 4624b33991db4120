/**
 * The outbox's contract with what sends a delivery: the sender of a core target type, and
 * what one attempt (or an inline send that was not attempted to the end) came to.
 */
import type { Delivery } from "../store/deliveries.ts";

/**
 * Sends one delivery of a core target type (`event`, `notification`…). Resolves when the
 * receiver took it; throws otherwise, steering retries like a dispatcher's error
 * ({@link DeliveryErrorInfo}: `retryable: false` = dead at once, `status`, `retryAfterMs`).
 * It may return the receiver's HTTP status, which is recorded.
 */
export type DeliverySender = (
  delivery: Delivery,
  /**
   * Aborts shortly before the delivery's lease runs out: a sender must stop then (pass it
   * to the HTTP client), or the worker could claim the delivery again and send it twice.
   */
  signal: AbortSignal,
) => Promise<SenderResult>;

/** What a sender may resolve to: nothing, or the receiver's HTTP status. */
// biome-ignore lint/suspicious/noConfusingVoidType: a sender that returns nothing is fine
type SenderResult = void | { httpStatus?: number };

/**
 * What an inline send came to when it was not (yet) attempted to the end: the destination
 * is parked or at its cap (the row waits for the worker), or the caller stopped waiting
 * (the attempt goes on and is recorded). `error` says which.
 */
export interface PendingOutcome {
  status: "pending";
  httpStatus: null;
  error: string;
  durationMs: number;
}

/** The result of one attempt, as recorded. */
export interface AttemptOutcome {
  status: "delivered" | "failed" | "dead";
  /** HTTP status of the last response, when the sender reported one. */
  httpStatus: number | null;
  /** Secret-free reason, absent when delivered. */
  error?: string;
  /** When the next attempt is due (ms since epoch), for `failed`. */
  nextAttemptAt?: number;
  /** Wall time of the attempt in ms. */
  durationMs: number;
}
