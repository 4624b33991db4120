/**
 * Turn guards (issue 13): the same tool called with the same arguments more than `limit`
 * times in one turn is not run again. The first call over the limit gets a tool error
 * the model sees (so it can change course); if the model makes that call once more, the
 * turn stops and the task fails with a clear error. Arguments are compared by value
 * (object keys in any order). The limit is `SWITCHYARD_MAX_REPEATED_TOOL_CALLS`
 * (default 3).
 */
import type { ToolSet } from "ai";

/** What the guard says about one tool call. */
export type RepeatVerdict =
  | { action: "run" }
  /** Not run: the model is told `message` as the tool's error. */
  | { action: "refuse"; message: string }
  /** Not run, and the turn must fail with `message`. */
  | { action: "fail"; message: string };

/** Counts identical tool calls within one turn (make one per turn). */
export class RepeatedCallGuard {
  readonly #limit: number;
  readonly #counts = new Map<string, number>();
  #failure: string | undefined;

  /** @param limit most runs of one (tool, arguments) pair per turn, at least 1 */
  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit));
  }

  /** Why the turn must fail, once a refused call was repeated; else undefined. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Counts a call of `name` with `args` and says whether it may run. */
  check(name: string, args: unknown): RepeatVerdict {
    const key = `${name}\u0000${canonicalJson(args)}`;
    const n = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, n);
    const limit = this.#limit;
    if (n <= limit) return { action: "run" };
    if (n === limit + 1) {
      return {
        action: "refuse",
        message: `Refused: ${name} was already called ${limit} times in this turn with these same arguments (limit ${limit}). It was not run again. Do not repeat this call: use the results you have, change the arguments, or answer.`,
      };
    }
    this.#failure ??= `Turn stopped: the model kept calling ${name} with the same arguments after being told to stop (more than ${limit} identical calls in one turn; SWITCHYARD_MAX_REPEATED_TOOL_CALLS)`;
    return { action: "fail", message: this.#failure };
  }
}

/**
 * Wraps every tool of `set` so each call is checked by `guard` first. A refused call
 * returns `{error: message}` to the model without running the tool, and is reported to
 * `onRefused` (to record it); the caller stops the loop once `guard.failure` is set.
 */
export function guardToolSet(
  set: ToolSet,
  guard: RepeatedCallGuard,
  onRefused: (name: string, args: unknown, message: string) => Promise<void> | void,
): ToolSet {
  const out: ToolSet = {};
  for (const [name, t] of Object.entries(set)) {
    const execute = t.execute;
    if (!execute) {
      out[name] = t;
      continue;
    }
    out[name] = {
      ...t,
      execute: async (args: unknown, opts: Parameters<typeof execute>[1]) => {
        const verdict = guard.check(name, args);
        if (verdict.action === "run") return execute(args as never, opts);
        await onRefused(name, args, verdict.message);
        return { error: verdict.message };
      },
    } as ToolSet[string];
  }
  return out;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(v: unknown): string {
  return (
    JSON.stringify(v, (_k, value) => {
      if (value && typeof value === "object" && !Array.isArray(value)) {
        return Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, (value as Record<string, unknown>)[k]]),
        );
      }
      return value;
    }) ?? "undefined"
  );
}
