/**
 * The delivery worker's settings (./worker.ts): what it is given, and the defaults that
 * are not the retry schedule's (./retry-policy.ts).
 */
import type { Logger } from "pino";
import type { Dispatcher } from "../sdk/dispatch.ts";
import type { Delivery } from "../store/deliveries.ts";
import type { Store } from "../store/index.ts";
import type { AttemptOutcome } from "./outcomes.ts";
import type { DEFAULT_RETRY_SCHEDULE_MS } from "./retry-policy.ts";

/** Default delivery lease: the outbound client's default per-try timeout plus a margin. */
export const DEFAULT_DELIVERY_LEASE_MS = 20_000;

/** Settings of a {@link DeliveryWorker}. Times in ms. */
export interface DeliveryWorkerOptions {
  store: Store;
  /** The dispatcher of a target type (`get` throws a final error for an unknown one). */
  dispatchers: { get(type: string): Dispatcher };
  log: Logger;
  owner: string;
  /** Sends in flight at once; default 16. */
  concurrency?: number;
  /** Retry delays; default {@link DEFAULT_RETRY_SCHEDULE_MS}. */
  scheduleMs?: number[];
  /** Jitter as a fraction of each delay (default 0.2 = ±20 %). */
  jitter?: number;
  /**
   * Lease per claimed delivery: one attempt (a try's timeout plus a margin); default
   * {@link DEFAULT_DELIVERY_LEASE_MS}. The sender's signal fires a little before it ends.
   */
  leaseMs?: number;
  /**
   * Deliveries of one destination the worker has leased at once (inline sends, which take
   * the caller's time and no worker slot, count but are not capped); default 4.
   */
  perDestination?: number;
  /** Failed attempts in a row that park a destination; default 5. */
  breakerFailures?: number;
  /** How long a parked destination waits before a probe, ms; default 60 000. */
  breakerCoolOffMs?: number;
  /** Fallback poll; default 1000. */
  pollMs?: number;
  /** Smallest delay after a 429 or a timeout; default 60 000. */
  minBackoffAfterThrottleMs?: number;
  /** Called after every recorded attempt (metrics); must not throw. */
  onOutcome?: (delivery: Delivery, outcome: AttemptOutcome) => void;
  /**
   * Tells other instances (the wake-up bus) that due rows are committed that this worker
   * will not take at once: called by `DeliveryWorker.poke` when it has no free slot,
   * is stopped or holds a destination parked or probing (another instance's breaker may be
   * closed), and after a claim that filled every free slot. Rows this worker claims itself
   * are not told: every other instance would only run a claim that finds nothing. Must not
   * throw. Not called by `DeliveryWorker.wake`.
   */
  onPoke?: () => void;
  /**
   * The clock a retry is scheduled from (ms since epoch); default `Date.now`. Tests pin it
   * to read each delay exactly from `next_attempt_at`.
   */
  now?: () => number;
  /**
   * The jitter's random source, uniform in [0, 1) like `Math.random` (the default): 0 gives
   * the shortest delay (step × (1 − jitter)), 0.5 the step itself, 1 the longest.
   */
  random?: () => number;
}
