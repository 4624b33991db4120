/**
 * Migration `0020_usage_budgets`.
 * Turn guards (issue 13): a bot's token `budget` (JSON), the tokens each task used (as the
 * model reported them, summed over its steps and attempts) and `token_usage`, the tokens
 * used per UTC day, bot and session, which the budget check sums.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("bots").addColumn("budget", "text").execute();
    for (const col of ["input_tokens", "output_tokens", "total_tokens"]) {
      await db.schema.alterTable("tasks").addColumn(col, "bigint").execute();
    }
    await db.schema
      .createTable("token_usage")
      .addColumn("day", "text", (c) => c.notNull())
      .addColumn("bot_id", "text", (c) => c.notNull())
      .addColumn("session_id", "text", (c) => c.notNull())
      .addColumn("input_tokens", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("output_tokens", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("total_tokens", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("token_usage_pk", ["day", "bot_id", "session_id"])
      .execute();
  },
};
