/**
 * `/api/v1/tasks…`: list tasks (filtered, paged by cursor), read a task with its
 * deliveries, its tool calls; cancel it.
 */
import { z } from "zod";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import { redactConfig } from "../lib/redact.ts";
import type { Store } from "../store/index.ts";
import type { Task } from "../store/tasks.ts";
import { page, pageQuery, queryText } from "./pages.ts";

const idParams = z.object({ id: z.string().min(1) });

const TASK_STATUSES = [
  "pending",
  "running",
  "waiting_approval",
  "complete",
  "failed",
  "cancelled",
] as const;

const listQuery = z.strictObject({
  bot: queryText(200).optional(),
  session_id: queryText(200).optional(),
  client_id: queryText(512).optional().describe("prefix of the task's session's client_id"),
  status: z.enum(TASK_STATUSES).optional(),
  ...pageQuery,
});

/** How many of a task's deliveries its read lists (the rest: `deliveries_url`). */
const TASK_DELIVERIES_SHOWN = 100;

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/** The wire shape of a task. */
export function taskJson(t: Task) {
  return {
    id: t.id,
    session_id: t.sessionId,
    bot_id: t.botId,
    status: t.status,
    prompt: t.prompt,
    result: t.result,
    error: t.error,
    dispatch_type: t.dispatchType,
    /** Where the result goes, secret-like fields masked and URLs cut to their host. */
    dispatch_config: redactConfig(t.dispatchConfig),
    execution_config: t.executionConfig,
    /** Where a delegated task's result goes back to (`parent_session_id`, `parent_task_id`…), else null. */
    callback_config: t.callbackConfig,
    warnings: t.warnings,
    /** Tokens the model reported for this task (all steps and attempts); null before any. */
    input_tokens: t.inputTokens,
    output_tokens: t.outputTokens,
    total_tokens: t.totalTokens,
    attempts: t.attempts,
    created_at: iso(t.createdAt),
    run_at: iso(t.runAt),
    started_at: iso(t.startedAt),
    completed_at: iso(t.completedAt),
  };
}

/**
 * A task as `GET /api/v1/tasks/{id}` (and the MCP tool `task_get`) answer it: its wire
 * shape plus `deliveries` (the newest 100 of its outbox rows: id, target_type, status,
 * attempts, created_at) and `deliveries_url` for the full records.
 * @returns undefined when no task has this id
 */
export async function readTask(store: Store, id: string) {
  const t = await store.tasks.get(id);
  if (!t) return undefined;
  const deliveries = await store.deliveries.list({ taskId: t.id, limit: TASK_DELIVERIES_SHOWN });
  return {
    ...taskJson(t),
    deliveries: deliveries.map((d) => ({
      id: d.id,
      target_type: d.targetType,
      status: d.status,
      attempts: d.attempts,
      created_at: iso(d.createdAt),
    })),
    deliveries_url: `/api/v1/deliveries?task_id=${encodeURIComponent(t.id)}`,
  };
}

/** What tasksApi needs. */
export interface TasksApiOptions {
  store: Store;
  abortLocal: (id: string) => void;
  /**
   * Told after a task was cancelled (its pending approvals are settled); `by` names the
   * key that cancelled it. Must not throw.
   */
  onCancelled?: (taskId: string, by: string) => Promise<void>;
}

/** Registers the task routes. `abortLocal` stops a cancelled task this process runs. */
export const tasksApi = apiPlugin<TasksApiOptions>((routes, { store, abortLocal, onCancelled }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/tasks",
    summary:
      "Tasks, newest first: filter by bot, session_id, client_id prefix, status, since; page with cursor=<next_cursor> (limit ≤ 200, default 50)",
    scope: "tasks:read",
    query: listQuery,
    async handler({ query }) {
      const rows = await store.tasks.list({
        botId: query.bot,
        sessionId: query.session_id,
        clientIdPrefix: query.client_id,
        status: query.status,
        since: query.since,
        after: query.cursor,
        limit: query.limit + 1,
      });
      return page(rows, query.limit, taskJson);
    },
  });

  routes.add({
    method: "GET",
    url: "/api/v1/tasks/:id",
    summary:
      "A task, with its outbox deliveries (result dispatch and events: id, target_type, status, attempts) and deliveries_url",
    scope: "tasks:read",
    params: idParams,
    async handler({ params }) {
      const t = await readTask(store, params.id);
      if (!t) throw notFound("Task");
      return t;
    },
  });

  routes.add({
    method: "GET",
    url: "/api/v1/tasks/:id/tool_calls",
    summary: "The tool calls a task made, in order",
    scope: "tasks:read",
    params: idParams,
    async handler({ params }) {
      if (!(await store.tasks.get(params.id))) throw notFound("Task");
      const calls = await store.toolCalls.list(params.id);
      return calls.map((c) => ({
        id: c.id,
        name: c.name,
        args: c.args,
        result: c.result,
        status: c.status,
        duration_ms: c.durationMs,
        created_at: iso(c.createdAt),
      }));
    },
  });

  routes.add({
    method: "POST",
    url: "/api/v1/tasks/:id/cancel",
    summary: "Cancel a pending or running task (409 when it already finished)",
    scope: "tasks:write",
    params: idParams,
    async handler({ params, apiKey }) {
      const t = await store.tasks.get(params.id);
      if (!t) throw notFound("Task");
      const ok = await store.tasks.finish(
        t.id,
        { status: "cancelled" },
        { from: ["pending", "running", "waiting_approval"] },
      );
      if (!ok) {
        const now = await store.tasks.get(t.id);
        throw new HttpError(409, `Task is already ${now?.status ?? t.status}`);
      }
      abortLocal(t.id); // no-op unless this process is running it
      await onCancelled?.(t.id, `cancel:${apiKey?.name ?? "api"}`);
      return taskJson((await store.tasks.get(t.id))!);
    },
  });
});
