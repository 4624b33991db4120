/** Model calls made inside tasks (one per agent-loop step), for a task's timeline. */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import type { Database } from "./schema.ts";

/** A recorded model call. Times in ms since the epoch; tokens as the model reported them. */
export interface ModelCallRecord {
  id: string;
  taskId: string;
  /** The model spec (`provider:model`). */
  model: string;
  startedAt: number;
  durationMs: number;
  inputTokens: number | null;
  outputTokens: number | null;
  /** The AI SDK's finish reason (`stop`, `tool-calls`, `length`…), null when unknown. */
  finishReason: string | null;
}

const int = (v: number | null | undefined) =>
  v == null || !Number.isFinite(v) ? null : Math.round(v);

/** Model calls of tasks. */
export class ModelCallRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Records one model call. */
  async insert(c: Omit<ModelCallRecord, "id">): Promise<void> {
    await this.#db
      .insertInto("model_calls")
      .values({
        id: uuidv7(),
        task_id: c.taskId,
        model: c.model,
        started_at: Math.round(c.startedAt),
        duration_ms: Math.max(0, Math.round(c.durationMs)),
        input_tokens: int(c.inputTokens),
        output_tokens: int(c.outputTokens),
        finish_reason: c.finishReason,
      })
      .execute();
  }

  /** The newest `limit` model calls of a task, oldest first. */
  async list(taskId: string, limit: number): Promise<ModelCallRecord[]> {
    const rows = await this.#db
      .selectFrom("model_calls")
      .selectAll()
      .where("task_id", "=", taskId)
      .orderBy("started_at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
    return rows.reverse().map((r) => ({
      id: r.id,
      taskId: r.task_id,
      model: r.model,
      startedAt: Number(r.started_at),
      durationMs: Number(r.duration_ms),
      inputTokens: r.input_tokens == null ? null : Number(r.input_tokens),
      outputTokens: r.output_tokens == null ? null : Number(r.output_tokens),
      finishReason: r.finish_reason,
    }));
  }
}
