/**
 * A coalescing work loop: `poke()` runs the pass at once (several pokes during a pass
 * cause one more pass, not many), and a timer runs it as a fallback every `pollMs`,
 * or sooner when the pass asks for a wake-up at a given time. Used by the task and
 * delivery workers so new work starts without a polling delay.
 */
import type { Logger } from "pino";

/** A pass returns `true` to run again at once, or a time (ms since epoch) to wake at. */
export type Pass = () => Promise<boolean | number | undefined>;

export class WakeLoop {
  readonly #pass: Pass;
  readonly #pollMs: number;
  readonly #log: Logger;
  readonly #name: string;
  #running = false;
  #again = false;
  #stopped = true;
  #timer: NodeJS.Timeout | undefined;
  #idle: Promise<void> = Promise.resolve();

  constructor(pass: Pass, opts: { pollMs: number; log: Logger; name: string }) {
    this.#pass = pass;
    this.#pollMs = opts.pollMs;
    this.#log = opts.log;
    this.#name = opts.name;
  }

  /** Starts the loop with a first pass. */
  start(): void {
    this.#stopped = false;
    this.poke();
  }

  /** Stops scheduling passes; resolves when a pass in progress has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#idle;
  }

  /** Whether the loop takes pokes: started and not stopped. */
  get active(): boolean {
    return !this.#stopped;
  }

  /** Runs a pass now, or right after the current one. */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#idle = this.#run();
  }

  async #run(): Promise<void> {
    let wakeAt: number | undefined;
    try {
      do {
        this.#again = false;
        let r: boolean | number | undefined;
        try {
          r = await this.#pass();
        } catch (err) {
          this.#log.error({ err, loop: this.#name }, "work loop pass failed");
          r = undefined;
        }
        if (r === true) this.#again = true;
        wakeAt = typeof r === "number" ? r : undefined;
      } while (this.#again && !this.#stopped);
    } finally {
      this.#running = false;
    }
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const delay =
      wakeAt === undefined
        ? this.#pollMs
        : Math.max(0, Math.min(this.#pollMs, wakeAt - Date.now()));
    this.#timer = setTimeout(() => this.poke(), delay);
    this.#timer.unref();
  }
}
