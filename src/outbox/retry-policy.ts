/**
 * What a failed delivery attempt means: dead, or retried at a time. The schedule is
 * REFERENCE.md's (Svix's): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each ±20 % jitter;
 * at least 60 s after a 429 or a timeout; a receiver's `Retry-After` honoured, clamped to
 * the schedule's longest step (a receiver asking for a year must not park a delivery
 * forever).
 */
import type { DeliveryErrorInfo } from "../sdk/errors.ts";

/** Delays (ms) after the 1st, 2nd, … failed attempt; its length + 1 is the attempt cap. */
export const DEFAULT_RETRY_SCHEDULE_MS = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** The knobs of the policy; times in ms. */
export interface RetryPolicy {
  scheduleMs: number[];
  /** Fraction of a step to vary by, e.g. 0.2. */
  jitter: number;
  /** Smallest delay after a 429 or a timeout. */
  minBackoffAfterThrottleMs: number;
  /** The clock (ms since epoch). */
  now(): number;
  /** Uniform in [0, 1): 0 gives step × (1 − jitter), 0.5 the step, 1 step × (1 + jitter). */
  random(): number;
}

/** The outcome of a failed attempt: the error's message and HTTP status, and what next. */
export type RetryDecision =
  | { status: "dead"; httpStatus: number | null; error: string }
  | { status: "failed"; httpStatus: number | null; error: string; nextAttemptAt: number };

/**
 * Decides about attempt number `attempts` (1-based) that failed with `err` (any Error;
 * {@link DeliveryErrorInfo} fields steer: `retryable: false` = dead at once, `status`,
 * `retryAfterMs`).
 */
export function decideRetry(attempts: number, err: unknown, p: RetryPolicy): RetryDecision {
  const info = (err ?? {}) as DeliveryErrorInfo;
  const error = (err as Error)?.message ?? String(err);
  const httpStatus = typeof info.status === "number" ? info.status : null;
  const schedule = p.scheduleMs;
  if (info.retryable === false || attempts > schedule.length) {
    return { status: "dead", httpStatus, error };
  }
  let delay = schedule[attempts - 1]!;
  delay = Math.round(delay * (1 + (p.random() * 2 - 1) * p.jitter));
  if (httpStatus === 429 || /timed? ?out/i.test(error)) {
    delay = Math.max(delay, p.minBackoffAfterThrottleMs);
  }
  if (info.retryAfterMs && info.retryAfterMs > delay) {
    delay = Math.min(info.retryAfterMs, Math.max(...schedule));
  }
  return { status: "failed", httpStatus, error, nextAttemptAt: p.now() + delay };
}
