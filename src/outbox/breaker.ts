/**
 * Circuit breakers of the outbox, one per destination (`lib/destination.ts`), kept in this
 * process. A destination whose last `failures` attempts all got no answer (timeout, network
 * error, aborted at the lease's end) is parked (`open`) for `coolOffMs`: the worker claims
 * none of its deliveries and inline sends only write them. After the cool-off it is
 * `half_open`: one delivery at a time probes it; a success closes the breaker, a failure
 * parks it for another cool-off. The worker records any HTTP answer, 5xx included, as a
 * success here: the receiver is alive and answers quickly, and the outbox's schedule
 * handles the delivery itself.
 */

/** The state of one destination's breaker. */
export type BreakerState = "closed" | "open" | "half_open";

/** One destination as the API and metrics show it. Times are ms since epoch. */
export interface DestinationBreaker {
  destination: string;
  state: BreakerState;
  /** Failed attempts in a row. */
  consecutiveFailures: number;
  /** When an open breaker lets a probe through; null unless open. */
  openUntil: number | null;
  /** The last failure's secret-free reason, or null. */
  lastError: string | null;
  /** How many times it was opened since this process started. */
  opened: number;
}

/** Settings of {@link DestinationBreakers}. */
export interface BreakerOptions {
  /** Attempts in a row without an answer that open it; default 5. */
  failures?: number;
  /** How long it stays open, ms; default 60 000. */
  coolOffMs?: number;
  /** Told when a destination is parked (for a log line); must not throw. */
  onOpen?: (b: DestinationBreaker) => void;
}

interface Entry {
  failures: number;
  openUntil: number | null;
  lastError: string | null;
  opened: number;
}

/** The breakers of every destination this process has sent to with a failure. */
export class DestinationBreakers {
  readonly #failures: number;
  readonly #coolOffMs: number;
  readonly #onOpen: BreakerOptions["onOpen"];
  readonly #entries = new Map<string, Entry>();

  constructor(opts: BreakerOptions = {}) {
    this.#failures = Math.max(1, opts.failures ?? 5);
    this.#coolOffMs = Math.max(0, opts.coolOffMs ?? 60_000);
    this.#onOpen = opts.onOpen;
  }

  /** Records an attempt's result for `destination`: `ok` (it answered) or not. */
  record(destination: string, ok: boolean, error?: string, now = Date.now()): void {
    const e = this.#entries.get(destination);
    if (ok) {
      // Forget healthy destinations: the map holds only the ones in trouble.
      if (e) this.#entries.delete(destination);
      return;
    }
    const entry = e ?? { failures: 0, openUntil: null, lastError: null, opened: 0 };
    entry.failures++;
    entry.lastError = error ?? null;
    const probing = entry.openUntil !== null && entry.openUntil <= now;
    if (probing || (entry.openUntil === null && entry.failures >= this.#failures)) {
      entry.openUntil = now + this.#coolOffMs;
      entry.opened++;
      this.#entries.set(destination, entry);
      try {
        this.#onOpen?.(this.#view(destination, entry, now));
      } catch {}
      return;
    }
    this.#entries.set(destination, entry);
  }

  /** The state of `destination` now. */
  state(destination: string, now = Date.now()): BreakerState {
    const e = this.#entries.get(destination);
    if (!e || e.openUntil === null) return "closed";
    return e.openUntil > now ? "open" : "half_open";
  }

  /** Destinations whose breaker is open now (claim none of their deliveries). */
  parked(now = Date.now()): string[] {
    return this.#list((e) => e.openUntil !== null && e.openUntil > now);
  }

  /** Destinations past their cool-off (at most one delivery in flight: the probe). */
  probing(now = Date.now()): string[] {
    return this.#list((e) => e.openUntil !== null && e.openUntil <= now);
  }

  /** Every destination with a failure on record, worst first. */
  list(now = Date.now()): DestinationBreaker[] {
    return [...this.#entries]
      .map(([d, e]) => this.#view(d, e, now))
      .sort((a, b) => b.consecutiveFailures - a.consecutiveFailures);
  }

  #list(pred: (e: Entry) => boolean): string[] {
    const out: string[] = [];
    for (const [d, e] of this.#entries) if (pred(e)) out.push(d);
    return out;
  }

  #view(destination: string, e: Entry, now: number): DestinationBreaker {
    const state = this.state(destination, now);
    return {
      destination,
      state,
      consecutiveFailures: e.failures,
      openUntil: state === "closed" ? null : e.openUntil,
      lastError: e.lastError,
      opened: e.opened,
    };
  }
}
