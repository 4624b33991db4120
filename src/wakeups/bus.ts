/**
 * The wake-up bus of one instance (issue 14, several instances on one PostgreSQL): after
 * work was committed here (a new or re-queued task, a delivery due, a job changed), the
 * other instances are told at once over the store's wake channel (`LISTEN`/`NOTIFY`), so
 * work injected on one instance starts on another within milliseconds rather than on its
 * next poll. This instance's own workers are poked directly by the code that committed
 * the work (an in-process signal, which is all SQLite's single process needs).
 *
 * Tells are coalesced per kind: while one NOTIFY of a kind is in flight, any number of
 * further tells cause exactly one more after it, sent after their commits. A wake-up is a
 * hint, never the only way to find work: a tell that fails (database down) is logged and
 * dropped, a listener that was disconnected looks for every kind of work once when it is
 * listening again, and every worker still polls.
 */
import type { Logger } from "pino";
import type { WakeChannel } from "../store/wake-channel.ts";

/** What a wake-up is about. A decided approval puts its task back to pending: `task`. */
export const WAKEUP_KINDS = ["task", "delivery", "job"] as const;
export type WakeupKind = (typeof WAKEUP_KINDS)[number];

/** What the bus reports (tests and logs wait on these). */
export type WakeupEvent =
  | { type: "up" }
  | { type: "down"; error: string }
  | { type: "received"; kind: WakeupKind; from: string }
  | { type: "sent"; kind: WakeupKind };

/** Options of a {@link WakeupBus}. */
export interface WakeupBusOptions {
  channel: WakeChannel;
  /** This instance's id; its own payloads coming back are ignored. */
  origin: string;
  log: Logger;
  /** Told of every bus event. */
  onEvent?: (e: WakeupEvent) => void;
}

const SEP = " ";

/** Tells other instances about committed work and wakes this one's workers when told. */
export class WakeupBus {
  readonly #o: WakeupBusOptions;
  readonly #handlers = new Map<WakeupKind, Array<() => void>>();
  readonly #inFlight = new Set<WakeupKind>();
  readonly #again = new Set<WakeupKind>();
  readonly #sends = new Set<Promise<void>>();
  #up = false;
  #stopped = true;

  constructor(opts: WakeupBusOptions) {
    this.#o = opts;
  }

  /** `postgres` when other instances hear this bus; `local` on SQLite. */
  get scope(): WakeChannel["scope"] {
    return this.#o.channel.scope;
  }

  /** Whether the listening side is connected (always true on SQLite once started). */
  get listening(): boolean {
    return this.#up;
  }

  /** Calls `fn` when another instance told of work of `kind`, and after every (re)connect. */
  on(kind: WakeupKind, fn: () => void): void {
    const list = this.#handlers.get(kind) ?? [];
    list.push(fn);
    this.#handlers.set(kind, list);
  }

  /** Starts listening. */
  start(): void {
    this.#stopped = false;
    this.#o.channel.start({
      message: (payload) => this.#message(payload),
      up: () => {
        this.#up = true;
        this.#emit({ type: "up" });
        // Whatever was told while this instance was not listening: look once for all of it.
        for (const kind of WAKEUP_KINDS) this.#wake(kind);
      },
      down: (err) => {
        this.#up = false;
        this.#o.log.warn({ err: err.message }, "wake-up listener lost; polling until it is back");
        this.#emit({ type: "down", error: err.message });
      },
    });
  }

  /**
   * Tells the other instances that work of `kind` was committed (call after the commit).
   * Never throws; does nothing on SQLite or once stopped.
   */
  tell(kind: WakeupKind): void {
    if (this.#stopped || this.#o.channel.scope === "local") return;
    if (this.#inFlight.has(kind)) {
      this.#again.add(kind);
      return;
    }
    this.#inFlight.add(kind);
    const p = this.#o.channel
      .send(`${kind}${SEP}${this.#o.origin}`)
      .then(
        () => this.#emit({ type: "sent", kind }),
        (err: Error) => this.#o.log.warn({ err: err.message, kind }, "wake-up not sent"),
      )
      .finally(() => {
        this.#sends.delete(p);
        this.#inFlight.delete(kind);
        if (this.#again.delete(kind)) this.tell(kind);
      });
    this.#sends.add(p);
  }

  /** Sends what is in flight, then stops listening; idempotent. */
  async stop(): Promise<void> {
    while (this.#sends.size > 0) await Promise.allSettled([...this.#sends]);
    this.#stopped = true;
    this.#up = false;
    await this.#o.channel.stop();
  }

  #message(payload: string): void {
    const at = payload.indexOf(SEP);
    const kind = (at < 0 ? payload : payload.slice(0, at)) as WakeupKind;
    const from = at < 0 ? "" : payload.slice(at + 1);
    if (from === this.#o.origin || !WAKEUP_KINDS.includes(kind)) return;
    this.#emit({ type: "received", kind, from });
    this.#wake(kind);
  }

  #wake(kind: WakeupKind): void {
    if (this.#stopped) return;
    for (const fn of this.#handlers.get(kind) ?? []) {
      try {
        fn();
      } catch (err) {
        this.#o.log.error({ err, kind }, "wake-up handler failed");
      }
    }
  }

  #emit(e: WakeupEvent): void {
    try {
      this.#o.onEvent?.(e);
    } catch {}
  }
}
