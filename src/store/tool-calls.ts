/** Tool calls made inside tasks: name, args, result, duration, status. */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import { fromJson } from "./json.ts";
import type { Database } from "./schema.ts";

/** A recorded tool call. */
export interface ToolCallRecord {
  id: string;
  taskId: string;
  sessionId: string;
  name: string;
  args: unknown;
  result: string | null;
  status: "ok" | "error";
  durationMs: number;
  createdAt: number;
}

/** Tool calls of tasks. */
export class ToolCallRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Records one tool execution. */
  async insert(c: Omit<ToolCallRecord, "id" | "createdAt">): Promise<void> {
    await this.#db
      .insertInto("tool_calls")
      .values({
        id: uuidv7(),
        task_id: c.taskId,
        session_id: c.sessionId,
        name: c.name,
        args: JSON.stringify(c.args ?? {}),
        result: c.result,
        status: c.status,
        duration_ms: Math.round(c.durationMs),
        created_at: Date.now(),
      })
      .execute();
  }

  /** The tool calls of a task, in order. */
  async list(taskId: string): Promise<ToolCallRecord[]> {
    const rows = await this.#db
      .selectFrom("tool_calls")
      .selectAll()
      .where("task_id", "=", taskId)
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      id: r.id,
      taskId: r.task_id,
      sessionId: r.session_id,
      name: r.name,
      args: fromJson(r.args, {}),
      result: r.result,
      status: r.status,
      durationMs: Number(r.duration_ms),
      createdAt: Number(r.created_at),
    }));
  }
}
