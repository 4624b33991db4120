/** The dispatcher registry: dispatch type → dispatcher; unknown types fall back to `none`. */
import type { Logger } from "pino";
import type { Dispatcher } from "../sdk/dispatch.ts";

/** A dispatcher that keeps the result in the database only. */
export const noneDispatcher: Dispatcher = {
  async deliver() {},
  async postMessage() {
    return false;
  },
};

/** Registry of dispatchers by type. */
export class DispatcherRegistry {
  readonly #map = new Map<string, { dispatcher: Dispatcher; source: string }>();
  readonly #log: Logger;
  readonly #warned = new Set<string>();
  constructor(log: Logger) {
    this.#log = log;
    this.register("none", noneDispatcher);
  }

  /**
   * Registers `dispatcher` as `type`, replacing any earlier one.
   * @throws TypeError when it lacks `deliver` or `postMessage` (caught at load, not at delivery)
   */
  register(type: string, dispatcher: Dispatcher, source = "core"): void {
    for (const m of ["deliver", "postMessage"] as const) {
      if (typeof (dispatcher as unknown as Record<string, unknown>)?.[m] !== "function") {
        throw new TypeError(`Dispatcher "${type}" has no ${m}() method`);
      }
    }
    this.#map.set(type, { dispatcher, source });
  }

  /** Removes every dispatcher registered from `source` (before an integration reloads). */
  unregisterSource(source: string): void {
    for (const [type, v] of this.#map) if (v.source === source) this.#map.delete(type);
  }

  /** True when `type` is registered. */
  has(type: string): boolean {
    return this.#map.has(type);
  }

  /** The dispatcher for `type`; an unknown type gets `none` (logged once per type). */
  get(type: string): Dispatcher {
    const hit = this.#map.get(type);
    if (hit) return hit.dispatcher;
    if (!this.#warned.has(type)) {
      this.#warned.add(type);
      this.#log.warn(
        { dispatch_type: type },
        "unknown dispatch type; result kept in the database only",
      );
    }
    return noneDispatcher;
  }

  /**
   * Checks `config` with the dispatcher of `type` (see `Dispatcher.checkConfig`).
   * @returns null when usable (also for an unknown type or a dispatcher without a check),
   *   else the reason
   */
  async check(type: string, config: Record<string, unknown>): Promise<string | null> {
    const hit = this.#map.get(type);
    return (await hit?.dispatcher.checkConfig?.(config)) ?? null;
  }

  /** Registered types with their sources. */
  list(): Array<{ type: string; source: string }> {
    return [...this.#map].map(([type, v]) => ({ type, source: v.source }));
  }
}
