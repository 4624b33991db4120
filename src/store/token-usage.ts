/**
 * Token usage (issue 13, turn guards): what the model reported, added up per task (on its
 * row) and per UTC day, bot and session (`token_usage`), which the budget check sums.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

/** Tokens of one model call (or a sum of them), as the provider reported them. */
export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** Where a use of tokens is counted. */
export interface UsageOwner {
  taskId: string;
  botId: string;
  sessionId: string;
}

/** Token usage per task and per day. */
export class TokenUsageRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Adds `counts` to the task's totals and to the (day, bot, session) row, creating it.
   * @param day the UTC day the tokens were used, `YYYY-MM-DD`
   */
  async add(owner: UsageOwner, day: string, counts: TokenCounts): Promise<void> {
    const { inputTokens: i, outputTokens: o, totalTokens: t } = counts;
    await this.#db
      .updateTable("tasks")
      .set((eb) => ({
        input_tokens: eb(eb.fn.coalesce("input_tokens", eb.lit(0)), "+", i),
        output_tokens: eb(eb.fn.coalesce("output_tokens", eb.lit(0)), "+", o),
        total_tokens: eb(eb.fn.coalesce("total_tokens", eb.lit(0)), "+", t),
      }))
      .where("id", "=", owner.taskId)
      .execute();
    await this.#db
      .insertInto("token_usage")
      .values({
        day,
        bot_id: owner.botId,
        session_id: owner.sessionId,
        input_tokens: i,
        output_tokens: o,
        total_tokens: t,
        updated_at: Date.now(),
      })
      .onConflict((oc) =>
        oc.columns(["day", "bot_id", "session_id"]).doUpdateSet((eb) => ({
          input_tokens: eb("token_usage.input_tokens", "+", eb.ref("excluded.input_tokens")),
          output_tokens: eb("token_usage.output_tokens", "+", eb.ref("excluded.output_tokens")),
          total_tokens: eb("token_usage.total_tokens", "+", eb.ref("excluded.total_tokens")),
          updated_at: eb.ref("excluded.updated_at"),
        })),
      )
      .execute();
  }

  /** Total tokens `botId` used on `day` (`YYYY-MM-DD`, UTC), in `sessionId` only when given. */
  async totalOn(day: string, botId: string, sessionId?: string): Promise<number> {
    let q = this.#db
      .selectFrom("token_usage")
      .select((eb) => eb.fn.sum<number | string | null>("total_tokens").as("n"))
      .where("day", "=", day)
      .where("bot_id", "=", botId);
    if (sessionId !== undefined) q = q.where("session_id", "=", sessionId);
    const r = await q.executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
