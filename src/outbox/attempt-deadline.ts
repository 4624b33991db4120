/**
 * The deadline of one outbox attempt, carried by its abort signal. The delivery worker
 * hands every sender a signal that fires shortly before the delivery's lease ends; the
 * outbound client reads the deadline from it so that it never starts an inline retry that
 * could not finish in time (a retry that does not fit is left to the durable schedule)
 * and never waits on one try past the deadline.
 */

const deadlines = new WeakMap<AbortSignal, number>();

/**
 * A signal that aborts after `ms` (a `TimeoutError`, like `AbortSignal.timeout`), whose
 * deadline (ms since epoch) {@link deadlineOf} tells.
 */
export function deadlineSignal(ms: number): AbortSignal {
  const signal = AbortSignal.timeout(ms);
  deadlines.set(signal, Date.now() + ms);
  return signal;
}

/** The deadline (ms since epoch) of a signal made by {@link deadlineSignal}, else undefined. */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal ? deadlines.get(signal) : undefined;
}
