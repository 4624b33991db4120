/**
 * Lifecycle hooks: integrations subscribe to agent events (before_llm_call,
 * after_tool_call, …) and core fires them. Fire-and-forget: a hook's error or rejection
 * is logged and never reaches the agent loop, and a slow hook never delays it.
 */
import type { Logger } from "pino";

import type { HookCallback, HookContext, LifecycleEvent } from "../sdk/hooks.ts";

/** Registry of lifecycle hooks. */
export class HookRegistry {
  readonly #hooks = new Map<LifecycleEvent, Array<{ fn: HookCallback; source: string }>>();
  readonly #log: Logger;
  constructor(log: Logger) {
    this.#log = log;
  }

  /** Subscribes `fn` to `event`. The same function registered twice for one event counts once. */
  register(event: LifecycleEvent, fn: HookCallback, source = "core"): void {
    const list = this.#hooks.get(event) ?? [];
    if (list.some((h) => h.fn === fn)) return;
    list.push({ fn, source });
    this.#hooks.set(event, list);
  }

  /** Removes every hook registered from `source`. */
  unregisterSource(source: string): void {
    for (const [event, list] of this.#hooks) {
      this.#hooks.set(
        event,
        list.filter((h) => h.source !== source),
      );
    }
  }

  /** True when anything listens to `event` (lets callers skip building `extra`). */
  has(event: LifecycleEvent): boolean {
    return (this.#hooks.get(event)?.length ?? 0) > 0;
  }

  /** Calls every hook of `event` without waiting; errors are logged with the hook's source. */
  fire(event: LifecycleEvent, ctx: HookContext): void {
    const list = this.#hooks.get(event);
    if (!list) return;
    for (const h of list) {
      try {
        Promise.resolve(h.fn(ctx)).catch((err) => this.#report(event, h.source, err));
      } catch (err) {
        this.#report(event, h.source, err);
      }
    }
  }

  /**
   * Override-capable firing (e.g. `before_transcription`): calls hooks in registration
   * order and returns the first non-null, non-undefined value; a throwing hook is logged
   * and skipped. Returns undefined when no hook answers.
   */
  async fireWithOverride(event: LifecycleEvent, ctx: HookContext): Promise<unknown> {
    for (const h of this.#hooks.get(event) ?? []) {
      try {
        const v = await h.fn(ctx);
        if (v !== null && v !== undefined) return v;
      } catch (err) {
        this.#report(event, h.source, err);
      }
    }
    return undefined;
  }

  #report(event: string, source: string, err: unknown): void {
    this.#log.warn({ event, source, err: (err as Error)?.message ?? String(err) }, "hook failed");
  }
}
