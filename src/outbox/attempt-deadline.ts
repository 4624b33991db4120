/**
 * The deadline of one outbox attempt, carried by its abort signal. The delivery worker
 * hands every sender a signal that fires shortly before the delivery's lease ends; the
 * outbound client reads the deadline from it so that it never starts an inline retry that
 * could not finish in time (a retry that does not fit is left to the durable schedule)
 * and never waits on one try past the deadline.
 */

const deadlines = new WeakMap<AbortSignal, number>();

/** The signal of one attempt and the means to end its timer. */
export interface AttemptDeadline {
  /** Aborts with a `TimeoutError` (like `AbortSignal.timeout`) once the deadline passes. */
  signal: AbortSignal;
  /**
   * Ends the timer: call when the attempt is over. Until then the timer holds the signal,
   * and through the listeners and dependent signals (`AbortSignal.any`) the HTTP client
   * added to it, the attempt's request and response.
   */
  dispose(): void;
}

/**
 * A signal that aborts after `ms` (a `TimeoutError`), whose deadline (ms since epoch)
 * {@link deadlineOf} tells. Unlike `AbortSignal.timeout`, its timer is cleared by
 * `dispose()` when the attempt ends, so a finished attempt is not kept for the rest of `ms`.
 */
export function attemptDeadline(ms: number): AttemptDeadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("The operation timed out.", "TimeoutError")),
    ms,
  );
  timer.unref();
  deadlines.set(controller.signal, Date.now() + ms);
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}

/** The deadline (ms since epoch) of a signal made by {@link deadlineSignal}, else undefined. */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal ? deadlines.get(signal) : undefined;
}
