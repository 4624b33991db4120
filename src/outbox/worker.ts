/**
 * The delivery worker: sends outbox rows through their dispatchers. Each claim holds a
 * lease that covers one attempt (the per-try HTTP timeout plus a margin): a crash mid-send
 * leaves the row to be claimed again within seconds, and the claim that resumes it is
 * logged with the previous owner. Destinations are isolated: claims go round robin across
 * destinations, each destination has at most `perDestination` sends in flight, and a
 * circuit breaker (`./breaker.ts`) parks one that keeps failing; a failed
 * send is retried on a schedule from seconds to hours (REFERENCE.md, Svix's schedule:
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ±20 % jitter, at least 60 s after a 429),
 * then marked dead. A receiver being down never reruns the LLM: the result is in the row.
 */

import { withDefaults } from "../lib/defaults.ts";
import { destinationOf } from "../lib/destination.ts";
import { WakeLoop } from "../lib/wake-loop.ts";
import type { DispatchTask } from "../sdk/dispatch.ts";
import type { ClaimedDelivery, Delivery, NewDelivery } from "../store/deliveries.ts";
import { inDeliverySpan } from "../telemetry/work.ts";
import { attemptDeadline } from "./attempt-deadline.ts";
import { collectExchanges } from "./attempt-exchanges.ts";
import { type DestinationBreaker, DestinationBreakers } from "./breaker.ts";
import { DestinationSlots } from "./destination-slots.ts";
import { OutcomeWriter } from "./outcome-writer.ts";
import type { AttemptOutcome, DeliverySender, PendingOutcome } from "./outcomes.ts";
import { DEFAULT_RETRY_SCHEDULE_MS, decideRetry } from "./retry-policy.ts";
import { DEFAULT_DELIVERY_LEASE_MS, type DeliveryWorkerOptions } from "./worker-options.ts";

export { DEFAULT_RETRY_SCHEDULE_MS } from "./retry-policy.ts";
export { DEFAULT_DELIVERY_LEASE_MS, type DeliveryWorkerOptions } from "./worker-options.ts";

/** Sends due deliveries. */
export class DeliveryWorker {
  readonly #o: Required<Omit<DeliveryWorkerOptions, "onOutcome" | "onPoke">> &
    Pick<DeliveryWorkerOptions, "onOutcome" | "onPoke">;
  readonly #senders = new Map<string, DeliverySender>();
  readonly #loop: WakeLoop;
  readonly #inFlight = new Set<Promise<void>>();
  /** Sends in flight per destination in this process (claimed and inline). */
  readonly #slots = new DestinationSlots();
  readonly #breakers: DestinationBreakers;
  /** Times (ms) of retries this worker scheduled and has not yet reached. */
  readonly #retryAt = new Set<number>();
  /** Outcomes waiting to be written; one transaction writes all that piled up. */
  readonly #outcomes: OutcomeWriter;

  constructor(opts: DeliveryWorkerOptions) {
    this.#o = withDefaults(
      {
        concurrency: 16,
        scheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
        jitter: 0.2,
        leaseMs: DEFAULT_DELIVERY_LEASE_MS,
        perDestination: 4,
        breakerFailures: 5,
        breakerCoolOffMs: 60_000,
        pollMs: 1000,
        minBackoffAfterThrottleMs: 60_000,
        now: Date.now,
        random: Math.random,
      },
      opts,
    );
    this.#breakers = new DestinationBreakers({
      failures: this.#o.breakerFailures,
      coolOffMs: this.#o.breakerCoolOffMs,
      onOpen: (b) =>
        opts.log.warn(
          {
            destination: b.destination,
            consecutive_failures: b.consecutiveFailures,
            open_until: new Date(b.openUntil ?? 0).toISOString(),
            error: b.lastError,
          },
          "delivery destination parked: circuit breaker open",
        ),
    });
    this.#loop = new WakeLoop(() => this.#pass(), {
      pollMs: this.#o.pollMs,
      log: opts.log,
      name: "deliveries",
    });
    this.#outcomes = new OutcomeWriter(opts.store, opts.owner, opts.log);
  }

  /**
   * Routes deliveries of `targetType` to `sender` instead of a dispatcher. Core target
   * types are not dispatcher names, so users cannot pick them as a task's dispatch_type.
   */
  registerSender(targetType: string, sender: DeliverySender): void {
    this.#senders.set(targetType, sender);
  }

  /**
   * Writes a delivery already leased to this worker and makes its first attempt at once,
   * in the caller's time (inline), recording the outcome like any other attempt. A failure
   * leaves it to the durable schedule; a crash mid-send leaves it to lease expiry. A
   * destination that is parked or at its cap is not tried inline: the row is written due
   * now for the worker and the outcome is `pending`. Works before {@link start} and after
   * {@link stop}.
   */
  async sendNow(
    d: Omit<NewDelivery, "lease">,
  ): Promise<{ delivery: Delivery; outcome: AttemptOutcome | PendingOutcome }> {
    return (await this.sendNowMany([d]))[0]!;
  }

  /**
   * {@link sendNow} for several deliveries: written in one statement, attempted in
   * parallel; results in the same order.
   * @param opts.awaitOutcomes wait until the outcomes are written (default true), so a
   *   reader right after sees them; background senders pass false (until written, a row
   *   stays leased, so a crash in between only means it is sent again)
   * @param opts.waitMs wait at most this long (ms) for the attempts; one still running
   *   then is reported `pending` and goes on in the background (default: no limit)
   */
  async sendNowMany(
    list: Array<Omit<NewDelivery, "lease">>,
    opts: { awaitOutcomes?: boolean; waitMs?: number } = {},
  ): Promise<Array<{ delivery: Delivery; outcome: AttemptOutcome | PendingOutcome }>> {
    const lease = { owner: this.#o.owner, ms: this.#o.leaseMs };
    const now = Date.now();
    // The caller's time, not a worker slot: no cap, but a parked destination is not tried
    // (and one being probed gets no second try at once).
    const planned = new Set<string>();
    const inline = list.map((d) => {
      const destination = d.destination ?? destinationOf(d.targetType, d.target);
      const state = this.#breakers.state(destination, now);
      if (state === "closed") return null;
      if (state === "open") return "destination parked (circuit breaker open); queued";
      if (this.#slots.inFlight(destination) > 0 || planned.has(destination)) {
        return "destination being probed after its cool-off; queued";
      }
      planned.add(destination);
      return null;
    });
    const rows = await this.#o.store.deliveries.insertRows(
      list.map((d, i) => (inline[i] === null ? { ...d, lease } : d)),
    );
    if (inline.some((x) => x !== null)) this.poke();
    const started = performance.now();
    const pending = (error: string): PendingOutcome => ({
      status: "pending",
      httpStatus: null,
      error,
      durationMs: performance.now() - started,
    });
    let timer: NodeJS.Timeout | undefined;
    const gaveUp =
      opts.waitMs === undefined
        ? undefined
        : new Promise<"late">((resolve) => {
            timer = setTimeout(() => resolve("late"), opts.waitMs);
          });
    try {
      return await Promise.all(
        rows.map(async (delivery, i) => {
          const skipped = inline[i];
          if (skipped != null) return { delivery, outcome: pending(skipped) };
          const sent = this.#slots.track(delivery.destination, async () => {
            const { outcome, recorded } = await inDeliverySpan(delivery, () =>
              this.#attempt(delivery),
            );
            if (opts.awaitOutcomes !== false) await recorded;
            return outcome;
          });
          const outcome = gaveUp ? await Promise.race([sent, gaveUp]) : await sent;
          return outcome === "late"
            ? { delivery, outcome: pending("still being sent; see GET /api/v1/deliveries/{id}") }
            : { delivery, outcome };
        }),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** This process's circuit breakers: the destinations with failures on record. */
  destinations(): DestinationBreaker[] {
    return this.#breakers.list();
  }

  /** Starts sending. */
  start(): void {
    this.#loop.start();
  }

  /**
   * Looks for due deliveries now (call after writing one); tells other instances when this
   * worker may not take them all (see {@link DeliveryWorkerOptions.onPoke}).
   */
  poke(): void {
    this.#loop.poke();
    if (!this.#hasRoom()) this.#o.onPoke?.();
  }

  /** Whether this worker is claiming, has a free slot and no destination held back. */
  #hasRoom(): boolean {
    if (!this.#loop.active || this.#inFlight.size >= this.#o.concurrency) return false;
    const now = Date.now();
    return this.#breakers.parked(now).length === 0 && this.#breakers.probing(now).length === 0;
  }

  /** Looks for due deliveries now, on this instance only (another instance told of them). */
  wake(): void {
    this.#loop.poke();
  }

  /** Stops claiming and waits for sends in flight (their leases keep them safe if we die). */
  async stop(): Promise<void> {
    await this.#loop.stop();
    await Promise.allSettled([...this.#inFlight]);
    await this.outcomesWritten();
  }

  /** Resolves once every outcome reported so far is written (inline sends do not wait). */
  async outcomesWritten(): Promise<void> {
    await this.#outcomes.settled();
  }

  async #pass(): Promise<boolean | number | undefined> {
    const { store, owner } = this.#o;
    const free = this.#o.concurrency - this.#inFlight.size;
    if (free <= 0) return undefined;
    const now = Date.now();
    const batch = await store.deliveries.claimDue(owner, free, this.#o.leaseMs, {
      perDestination: this.#o.perDestination,
      skip: this.#breakers.parked(now),
      probe: this.#breakers.probing(now),
    });
    // A full batch means more may be due. So may a batch held back by a destination's cap,
    // whose rows leased elsewhere (inline sends, other instances) this worker cannot see
    // ending: so every send that ends looks again (pokes coalesce into one more pass).
    const saturated = batch.length === free;
    for (const d of batch) {
      if (d.resumedFrom) {
        this.#o.log.warn(
          {
            delivery_id: d.id,
            previous_owner: d.resumedFrom,
            attempts: d.attempts,
            target_type: d.targetType,
          },
          "delivery resumed: its previous owner's lease expired without an outcome",
        );
      }
      const p = this.#send(d).finally(() => {
        this.#inFlight.delete(p);
        this.#loop.poke();
      });
      this.#inFlight.add(p);
    }
    if (saturated) {
      // More may be due than this worker has room for: let the other instances look.
      this.#o.onPoke?.();
      return undefined;
    }
    // Wake for the earliest retry this worker scheduled; rows of other instances (and
    // anything else) are found by the fallback poll.
    // A parked destination is looked at again when its cool-off ends.
    for (const b of this.#breakers.list(now)) {
      if (b.state === "open" && b.openUntil) this.#retryAt.add(b.openUntil);
    }
    if (this.#retryAt.size === 0) return undefined;
    for (const t of this.#retryAt) if (t <= now) this.#retryAt.delete(t);
    return this.#retryAt.size ? Math.min(...this.#retryAt) : true;
  }

  async #send(d: ClaimedDelivery): Promise<void> {
    // A claimed slot stays taken until its outcome is written.
    await this.#slots.track(
      d.destination,
      async () => (await inDeliverySpan(d, () => this.#attempt(d))).recorded,
    );
  }

  /**
   * Hands a task's result in `d` to the dispatcher named by its target type. The row carries
   * the task as the dispatcher sees it (written when the task finished); `signal` aborts
   * before the lease ends.
   */
  async #dispatch(d: Delivery, signal: AbortSignal): Promise<void> {
    const stored = d.payload.task as Partial<DispatchTask> | undefined;
    const dt: DispatchTask = {
      id: stored?.id ?? d.taskId ?? "",
      session_id: stored?.session_id ?? "",
      bot_id: stored?.bot_id ?? "",
      status: stored?.status ?? String(d.payload.status ?? ""),
      prompt: stored?.prompt ?? "",
      result: stored?.result ?? null,
      error: stored?.error ?? null,
      dispatch_type: d.targetType,
      dispatch_config: d.target,
      callback_config: stored?.callback_config ?? null,
    };
    const result = typeof d.payload.result === "string" ? d.payload.result : "";
    await this.#o.dispatchers.get(d.targetType).deliver(dt, result, {
      deliveryId: d.id,
      signal,
      clientActions: d.payload.client_actions as Array<Record<string, unknown>> | undefined,
      extraMetadata: d.payload.extra_metadata as Record<string, unknown> | undefined,
    });
  }

  /** One attempt of a leased delivery: send, then record delivered / failed / dead. */
  async #attempt(d: Delivery): Promise<{ outcome: AttemptOutcome; recorded: Promise<void> }> {
    const started = performance.now();
    const startedAt = Date.now();
    let outcome: AttemptOutcome;
    const leaseMs = this.#o.leaseMs;
    // The attempt ends a little before the lease does, leaving time to record it.
    const budget = attemptDeadline(Math.max(500, leaseMs - Math.min(2_000, leaseMs / 10)));
    // The HTTP requests the sender makes through the outbound client are noted for the
    // attempt's row (./attempt-exchanges.ts).
    const sent = await collectExchanges(async () => {
      const sender = this.#senders.get(d.targetType);
      return sender ? await sender(d, budget.signal) : await this.#dispatch(d, budget.signal);
    });
    budget.dispose();
    if (sent.ok) {
      outcome = { status: "delivered", httpStatus: sent.value?.httpStatus ?? null, durationMs: 0 };
    } else {
      outcome = this.#failure(d, sent.error);
    }
    outcome.durationMs = performance.now() - started;
    const last = sent.exchanges.at(-1);
    const { log } = this.#o;
    const recorded = this.#outcomes.write({
      id: d.id,
      status: outcome.status,
      httpStatus: outcome.httpStatus,
      error: outcome.error ?? "",
      nextAttemptAt: outcome.nextAttemptAt ?? Date.now(),
      details: {
        attempt: d.attempts,
        startedAt,
        durationMs: outcome.durationMs,
        requests: sent.exchanges.length,
        last: last
          ? {
              method: last.method,
              url: last.url,
              responseStatus: last.status,
              requestHeaders: last.requestHeaders,
              responseExcerpt: last.responseExcerpt,
              responseTruncated: last.responseTruncated,
            }
          : null,
      },
    });
    if (outcome.status === "dead") {
      log.warn({ delivery_id: d.id, attempts: d.attempts, error: outcome.error }, "delivery dead");
    } else if (outcome.status === "failed") {
      log.info(
        {
          delivery_id: d.id,
          attempts: d.attempts,
          retry_at: outcome.nextAttemptAt,
          error: outcome.error,
        },
        "delivery failed; will retry",
      );
    }
    // Wake the loop so it plans for this retry (an inline send happens outside of it).
    if (outcome.status === "failed") this.#loop.poke();
    // Only an attempt without any answer (timeout, network error, aborted) counts against
    // the receiver: a quick 5xx holds no slot, and the schedule deals with it.
    if (outcome.status === "delivered" || outcome.httpStatus != null) {
      this.#breakers.record(d.destination, true);
    } else if (outcome.status === "failed") {
      this.#breakers.record(d.destination, false, outcome.error);
    }
    try {
      this.#o.onOutcome?.(d, outcome);
    } catch {}
    return { outcome, recorded };
  }

  /** Decides what a failed attempt means: dead, or retried when (schedule, jitter, 429). */
  #failure(d: Delivery, err: unknown): AttemptOutcome {
    const decision = decideRetry(d.attempts, err, this.#o);
    if (decision.status === "failed") this.#retryAt.add(decision.nextAttemptAt);
    return { ...decision, durationMs: 0 };
  }
}
