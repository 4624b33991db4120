/**
 * The restart policy of integration processes: after a process exits on its own it is
 * started again after a delay that starts at `initialBackoffMs`, doubles per exit up to
 * `maxBackoffMs`, is spread by ±`jitter`, and goes back to `initialBackoffMs` once a run
 * lasted `stableAfterMs`. The supervisor (./processes.ts) keeps each process's current
 * delay, asks this policy for the next one, and arms or cancels the restart timer here.
 * Timers are unref'd, so a pending restart never keeps the server alive on its own.
 */
import type { ProcessEntry } from "./process-status.ts";

/** The policy's settings, ms unless named otherwise. */
export interface RestartPolicyOptions {
  /** Delay before the first automatic restart, ms (default 1000). Doubles per unexpected exit. */
  initialBackoffMs?: number;
  /** Cap on the restart delay, ms (default 60000; never below `initialBackoffMs`). */
  maxBackoffMs?: number;
  /** A run lasting at least this long resets the delay to `initialBackoffMs`, ms (default 30000). */
  stableAfterMs?: number;
  /** Random spread applied to each restart delay, as a fraction (default 0.1 = ±10%; 0 disables; at most 1). */
  jitter?: number;
}

/** The delay before one restart, and the process's delay to keep for the exit after it. */
export interface RestartDelay {
  /** Wait before this restart, ms (whole, never negative). */
  delayMs: number;
  /** The process's next base delay, ms (doubled, capped at `maxBackoffMs`). */
  backoffMs: number;
}

/** Exponential backoff with jitter between automatic restarts. */
export class RestartPolicy {
  /** The first delay, and the delay after a stable run or a start by hand, ms. */
  readonly initialMs: number;
  readonly #maxMs: number;
  readonly #stableAfterMs: number;
  readonly #jitter: number;

  /** @throws RangeError when a setting is negative or not finite (the message names it) */
  constructor(opts: RestartPolicyOptions) {
    this.initialMs = duration("initialBackoffMs", opts.initialBackoffMs, 1000);
    this.#maxMs = Math.max(this.initialMs, duration("maxBackoffMs", opts.maxBackoffMs, 60_000));
    this.#stableAfterMs = duration("stableAfterMs", opts.stableAfterMs, 30_000);
    this.#jitter = Math.min(1, duration("jitter", opts.jitter, 0.1));
  }

  /**
   * The restart after an unexpected exit.
   * @param backoffMs the process's current base delay, ms
   * @param ranMs how long the run that ended lasted, ms
   */
  next(backoffMs: number, ranMs: number): RestartDelay {
    const base = ranMs >= this.#stableAfterMs ? this.initialMs : backoffMs;
    const spread = this.#jitter > 0 ? base * this.#jitter * (Math.random() * 2 - 1) : 0;
    return {
      delayMs: Math.max(0, Math.round(base + spread)),
      backoffMs: Math.min(base * 2, this.#maxMs),
    };
  }
}

/** A process's pending restart: its timer and when it is due (ms since epoch). */
type RestartSlot = Pick<ProcessEntry, "restartTimer" | "nextRestartAt">;

/**
 * Arms `entry`'s restart `delayMs` from now (replacing a pending one): `nextRestartAt` is
 * set until it fires, then cleared before `fire` is called. `fire` decides whether the
 * restart is still wanted.
 */
export function armRestart(entry: RestartSlot, delayMs: number, fire: () => void): void {
  entry.nextRestartAt = Date.now() + delayMs;
  clearTimeout(entry.restartTimer);
  entry.restartTimer = setTimeout(() => {
    entry.restartTimer = undefined;
    entry.nextRestartAt = null;
    fire();
  }, delayMs);
  entry.restartTimer.unref();
}

/** Cancels `entry`'s pending restart, if any. */
export function cancelRestart(entry: RestartSlot): void {
  clearTimeout(entry.restartTimer);
  entry.restartTimer = undefined;
  entry.nextRestartAt = null;
}

/**
 * `value`, or `fallback` when undefined.
 * @throws RangeError naming `name` when the result is negative or not finite
 */
export function duration(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0`);
  return v;
}
