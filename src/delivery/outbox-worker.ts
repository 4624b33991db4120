/**
 * The delivery worker: sends outbox rows through their dispatchers. Each claim holds a
 * lease (a crash mid-send leaves the row to be claimed again after the lease); a failed
 * send is retried on a schedule from seconds to hours (REFERENCE.md, Svix's schedule:
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ±20 % jitter, at least 60 s after a 429),
 * then marked dead. A receiver being down never reruns the LLM: the result is in the row.
 */
import type { Logger } from "pino";
import type { DispatcherRegistry } from "../dispatch/registry.ts";
import type { DeliveryErrorInfo, DispatchTask } from "../dispatch/types.ts";
import { withDefaults } from "../lib/defaults.ts";
import { WakeLoop } from "../lib/wake-loop.ts";
import { claimDueDeliveries, type Delivery, recordDeliveryAttempt } from "../store/deliveries.ts";
import type { Store } from "../store/index.ts";
import { getTask } from "../store/tasks.ts";

/** Delays (ms) after the 1st, 2nd, … failed attempt; its length + 1 is the attempt cap. */
export const DEFAULT_RETRY_SCHEDULE_MS = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** Settings of a {@link DeliveryWorker}. Times in ms. */
export interface DeliveryWorkerOptions {
  store: Store;
  dispatchers: DispatcherRegistry;
  log: Logger;
  owner: string;
  /** Sends in flight at once; default 16. */
  concurrency?: number;
  /** Retry delays; default {@link DEFAULT_RETRY_SCHEDULE_MS}. */
  scheduleMs?: number[];
  /** Jitter as a fraction of each delay (default 0.2 = ±20 %). */
  jitter?: number;
  /** Lease per claimed delivery; default 300 000 (longer than any send with its retries). */
  leaseMs?: number;
  /** Fallback poll; default 1000. */
  pollMs?: number;
  /** Smallest delay after a 429 or a timeout; default 60 000. */
  minBackoffAfterThrottleMs?: number;
}

/** Sends due deliveries. */
export class DeliveryWorker {
  readonly #o: Required<DeliveryWorkerOptions>;
  readonly #loop: WakeLoop;
  readonly #inFlight = new Set<Promise<void>>();
  /** Times (ms) of retries this worker scheduled and has not yet reached. */
  readonly #retryAt = new Set<number>();

  constructor(opts: DeliveryWorkerOptions) {
    this.#o = withDefaults(
      {
        concurrency: 16,
        scheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
        jitter: 0.2,
        leaseMs: 300_000,
        pollMs: 1000,
        minBackoffAfterThrottleMs: 60_000,
      },
      opts,
    );
    this.#loop = new WakeLoop(() => this.#pass(), {
      pollMs: this.#o.pollMs,
      log: opts.log,
      name: "deliveries",
    });
  }

  /** Starts sending. */
  start(): void {
    this.#loop.start();
  }

  /** Looks for due deliveries now (call after writing one). */
  poke(): void {
    this.#loop.poke();
  }

  /** Stops claiming and waits for sends in flight (their leases keep them safe if we die). */
  async stop(): Promise<void> {
    await this.#loop.stop();
    await Promise.allSettled([...this.#inFlight]);
  }

  async #pass(): Promise<boolean | number | undefined> {
    const { store, owner } = this.#o;
    const free = this.#o.concurrency - this.#inFlight.size;
    if (free <= 0) return undefined;
    const batch = await claimDueDeliveries(store.k, store.db.dialect, owner, free, this.#o.leaseMs);
    // A full batch means more may be due: look again as soon as a slot frees up.
    const saturated = batch.length === free;
    for (const d of batch) {
      const p = this.#send(d).finally(() => {
        this.#inFlight.delete(p);
        if (saturated) this.poke();
      });
      this.#inFlight.add(p);
    }
    if (saturated) return undefined;
    // Wake for the earliest retry this worker scheduled; rows of other instances (and
    // anything else) are found by the fallback poll.
    if (this.#retryAt.size === 0) return undefined;
    const now = Date.now();
    for (const t of this.#retryAt) if (t <= now) this.#retryAt.delete(t);
    return this.#retryAt.size ? Math.min(...this.#retryAt) : true;
  }

  async #send(d: Delivery): Promise<void> {
    const { store, dispatchers, owner, log } = this.#o;
    try {
      const task = d.taskId ? await getTask(store.k, d.taskId) : undefined;
      const dt: DispatchTask = {
        id: task?.id ?? d.taskId ?? "",
        session_id: task?.sessionId ?? "",
        bot_id: task?.botId ?? "",
        status: task?.status ?? String(d.payload.status ?? ""),
        prompt: task?.prompt ?? "",
        result: task?.result ?? null,
        error: task?.error ?? null,
        dispatch_type: d.targetType,
        dispatch_config: d.target,
        callback_config: task?.callbackConfig ?? null,
      };
      const result = typeof d.payload.result === "string" ? d.payload.result : "";
      await dispatchers.get(d.targetType).deliver(dt, result, {
        deliveryId: d.id,
        clientActions: d.payload.client_actions as Array<Record<string, unknown>> | undefined,
        extraMetadata: d.payload.extra_metadata as Record<string, unknown> | undefined,
      });
      await recordDeliveryAttempt(store.k, d.id, owner, { status: "delivered" });
    } catch (err) {
      const info = (err ?? {}) as DeliveryErrorInfo;
      const error = (err as Error)?.message ?? String(err);
      const httpStatus = typeof info.status === "number" ? info.status : null;
      const schedule = this.#o.scheduleMs;
      if (info.retryable === false || d.attempts > schedule.length) {
        await recordDeliveryAttempt(store.k, d.id, owner, { status: "dead", httpStatus, error });
        log.warn({ delivery_id: d.id, attempts: d.attempts, error }, "delivery dead");
        return;
      }
      let delay = schedule[d.attempts - 1]!;
      delay = Math.round(delay * (1 + (Math.random() * 2 - 1) * this.#o.jitter));
      if (httpStatus === 429 || /timed? ?out/i.test(error)) {
        delay = Math.max(delay, this.#o.minBackoffAfterThrottleMs);
      }
      // Retry-After is honoured, clamped to the schedule's longest step (a receiver asking
      // for a year must not park the delivery forever).
      if (info.retryAfterMs && info.retryAfterMs > delay) {
        delay = Math.min(info.retryAfterMs, Math.max(...schedule));
      }
      const nextAttemptAt = Date.now() + delay;
      this.#retryAt.add(nextAttemptAt);
      await recordDeliveryAttempt(store.k, d.id, owner, {
        status: "failed",
        nextAttemptAt,
        httpStatus,
        error,
      });
      log.info(
        { delivery_id: d.id, attempts: d.attempts, retry_in_ms: delay, error },
        "delivery failed; will retry",
      );
    }
  }
}
