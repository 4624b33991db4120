/** Polling for a condition in tests (never a fixed sleep before a check). */

/**
 * Calls `fn` every `intervalMs` until it returns something other than undefined, and
 * resolves with that.
 * @param what named in the error, e.g. "the task to complete"
 * @param timeoutMs how long to keep trying (default 20 000 ms)
 * @throws Error `timed out waiting for <what>` after `timeoutMs`
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Calls `fn` every `intervalMs` until it returns a truthy value, and resolves with that.
 * @throws Error `timed out waiting for <what>` after `timeoutMs` (default 10 000 ms)
 */
export async function until<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
