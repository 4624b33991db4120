/**
 * Token budgets (issue 13, turn guards). A bot's `budget` caps the tokens it may use per
 * UTC day: `tokens_per_day` for all its sessions together, `tokens_per_session_per_day`
 * for any one session. Usage is what the model reports for each call (input, output and
 * total tokens), recorded after every step on the task row and in the day's usage row;
 * a task whose bot (or session) has already used its budget that day fails with "Token
 * budget exceeded" before the model is called. A turn that starts under budget runs to its
 * end, so a day's total may pass the budget by at most one turn per session running then.
 */
import { z } from "zod";
import type { BotBudget } from "../store/bots.ts";
import type { TokenCounts, TokenUsageRepository, UsageOwner } from "../store/token-usage.ts";

const tokens = z
  .number({ error: "expected a whole number of tokens" })
  .int("expected a whole number of tokens")
  .min(1, 'must be at least 1 (use "budget": null for no limit)')
  .max(1e15, "must be at most 10^15");

/** The wire form of a bot's budget (admin API): null or an object of optional limits. */
export const botBudgetSchema = z
  .strictObject({
    tokens_per_day: tokens.optional().describe("most tokens per UTC day, all sessions"),
    tokens_per_session_per_day: tokens
      .optional()
      .describe("most tokens per UTC day in any one session"),
  })
  .nullable();

/** A budget as the wire carries it. */
export type WireBudget = z.infer<typeof botBudgetSchema>;

/** The wire form of a stored budget. */
export function budgetToWire(b: BotBudget | null): WireBudget {
  if (!b) return null;
  return {
    ...(b.tokensPerDay !== undefined ? { tokens_per_day: b.tokensPerDay } : {}),
    ...(b.tokensPerSessionPerDay !== undefined
      ? { tokens_per_session_per_day: b.tokensPerSessionPerDay }
      : {}),
  };
}

/** The stored form of a wire budget (undefined stays undefined: "not given"). */
export function budgetFromWire(b: WireBudget | undefined): BotBudget | null | undefined {
  if (b === undefined || b === null) return b;
  const out: BotBudget = {};
  if (b.tokens_per_day !== undefined) out.tokensPerDay = b.tokens_per_day;
  if (b.tokens_per_session_per_day !== undefined) {
    out.tokensPerSessionPerDay = b.tokens_per_session_per_day;
  }
  return Object.keys(out).length ? out : null;
}

/** The UTC day of `ms` (ms since the epoch), `YYYY-MM-DD`: the unit budgets count in. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Thrown when a bot or session has used its day's budget; the task fails with its message. */
export class BudgetExceededError extends Error {
  /** Which limit was reached. */
  readonly scope: "bot" | "session";
  /** Tokens used that day (UTC) in that scope. */
  readonly used: number;
  readonly limit: number;
  readonly day: string;
  constructor(scope: "bot" | "session", used: number, limit: number, day: string) {
    const what = scope === "bot" ? "the bot's tokens_per_day" : "tokens_per_session_per_day";
    super(
      `Token budget exceeded: ${used} of ${limit} tokens used on ${day} (UTC) (${what}); the budget resets at 00:00 UTC`,
    );
    this.name = "BudgetExceededError";
    this.scope = scope;
    this.used = used;
    this.limit = limit;
    this.day = day;
  }
}

/**
 * Checks `budget` for a turn of `botId` in `sessionId` at `now` (ms).
 * @throws BudgetExceededError when the bot (all sessions) or the session has used at least
 *   its limit on that UTC day
 */
export async function checkTokenBudget(
  usage: Pick<TokenUsageRepository, "totalOn">,
  budget: BotBudget | null,
  botId: string,
  sessionId: string,
  now = Date.now(),
): Promise<void> {
  if (!budget) return;
  const day = utcDay(now);
  if (budget.tokensPerDay !== undefined) {
    const used = await usage.totalOn(day, botId);
    if (used >= budget.tokensPerDay) {
      throw new BudgetExceededError("bot", used, budget.tokensPerDay, day);
    }
  }
  if (budget.tokensPerSessionPerDay !== undefined) {
    const used = await usage.totalOn(day, botId, sessionId);
    if (used >= budget.tokensPerSessionPerDay) {
      throw new BudgetExceededError("session", used, budget.tokensPerSessionPerDay, day);
    }
  }
}

/** What the AI SDK reports per step (any field may be missing). */
export interface ReportedUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
}

/**
 * The counts to record for one step's reported usage: missing fields are 0, a missing
 * total is input + output. Undefined when the provider reported nothing.
 */
export function countsOf(u: ReportedUsage | undefined): TokenCounts | undefined {
  if (!u) return undefined;
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
  const inputTokens = num(u.inputTokens);
  const outputTokens = num(u.outputTokens);
  const totalTokens = num(u.totalTokens) || inputTokens + outputTokens;
  if (totalTokens === 0 && inputTokens === 0 && outputTokens === 0) return undefined;
  return { inputTokens, outputTokens, totalTokens };
}

/**
 * Makes the loop's usage recorder: adds a step's reported usage to the task and to the
 * day's row of its bot and session (day = the UTC day now).
 */
export function usageRecorder(
  usage: Pick<TokenUsageRepository, "add">,
  now: () => number = Date.now,
): (owner: UsageOwner, reported: ReportedUsage | undefined) => Promise<void> {
  return async (owner, reported) => {
    const counts = countsOf(reported);
    if (counts) await usage.add(owner, utcDay(now()), counts);
  };
}

/**
 * The data of the `error` event a budget refusal emits:
 * `{source: "token_budget", error, task_id, session_id, bot_id, scope, used, limit, day}`.
 */
export function budgetErrorEvent(
  task: { id: string; sessionId: string; botId: string },
  err: BudgetExceededError,
): Record<string, unknown> {
  return {
    source: "token_budget",
    error: err.message,
    task_id: task.id,
    session_id: task.sessionId,
    bot_id: task.botId,
    scope: err.scope,
    used: err.used,
    limit: err.limit,
    day: err.day,
  };
}
