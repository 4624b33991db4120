/**
 * The scheduler loop of one instance: a {@link WakeLoop} whose pass fires due jobs
 * ({@link JobRunner.pass}) and then sleeps until the earliest `next_run_at`, at most
 * `pollMs` (so jobs made on another instance are seen within one poll), or is poked when a
 * job changes here.
 */
import type { Logger } from "pino";
import { WakeLoop } from "../lib/wake-loop.ts";
import type { JobRunner } from "./runner.ts";

/** Runs {@link JobRunner.pass} on time. */
export class SchedulerLoop {
  readonly #loop: WakeLoop;

  /**
   * @param now the scheduler's clock (may differ from the real one in tests)
   * @param pollMs the longest sleep between passes (ms)
   */
  constructor(runner: JobRunner, opts: { log: Logger; pollMs: number; now: () => number }) {
    this.#loop = new WakeLoop(
      async () => {
        const next = await runner.pass();
        if (typeof next !== "number") return next ?? undefined;
        // The wake loop sleeps on the real clock: translate the scheduler clock's distance.
        return Date.now() + Math.max(0, next - opts.now());
      },
      { pollMs: opts.pollMs, log: opts.log, name: "scheduler" },
    );
  }

  start(): void {
    this.#loop.start();
  }

  /** Runs a pass now (a job changed). */
  poke(): void {
    this.#loop.poke();
  }

  /** Stops; resolves when a pass in progress has ended. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }
}
