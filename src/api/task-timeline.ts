/**
 * `GET /api/v1/tasks/{id}/timeline` (tasks:read): what happened to one task, in time order,
 * assembled from the rows the server already keeps — the task's own timestamps, its
 * `model_calls`, `tool_calls`, its `approvals` and its outbox `deliveries` — plus the
 * tokens the model reported for it. Read-only.
 */
import { z } from "zod";
import { notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import type { Store } from "../store/index.ts";

const idParams = z.object({ id: z.string().min(1).max(200) });

/** How many of each kind of row a timeline reads at most (the newest). */
export const TIMELINE_ROWS = 200;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One event of a task's timeline. `at` is ISO 8601; `kind` says which other fields exist:
 * - `created` `{status: "pending"}`; `started` `{attempts}`: the latest claim only (a task
 *   keeps one start time; `attempts` counts every claim, e.g. 2 after an approval put it
 *   back); `finished` `{status, error}`;
 * - `model_call` `{model, duration_ms, input_tokens, output_tokens, finish_reason}` (`at`
 *   is when it began; one per agent-loop step);
 * - `tool_call` `{tool_call_id, tool, status: "ok"|"error", duration_ms}` (`at` is when it
 *   began: the row's time less its duration);
 * - `approval_requested` `{approval_id, tool, expires_at}`, `approval_decided`
 *   `{approval_id, tool, status, decided_by, reason}` (its arguments: `GET /api/v1/approvals/{id}`,
 *   approvals:read);
 * - `delivery_queued` `{delivery_id, target_type, status, attempts, last_status}`,
 *   `delivered` `{delivery_id, target_type}`.
 */
export type TimelineEvent = { at: string; kind: string } & Record<string, unknown>;

/** The answer: the task's state, its token totals (null before any) and the events. */
export interface TaskTimeline {
  task_id: string;
  status: string;
  attempts: number;
  tokens: { input: number | null; output: number | null; total: number | null } | null;
  events: TimelineEvent[];
}

/** Order of kinds at the same millisecond: the order they happen in. */
const RANK: Record<string, number> = {
  created: 0,
  started: 1,
  approval_requested: 2,
  approval_decided: 3,
  // A tool runs after the model call that asked for it began, and the next model call
  // begins after the tool: at one millisecond, the tool comes first.
  tool_call: 4,
  model_call: 5,
  finished: 6,
  delivery_queued: 7,
  delivered: 8,
};

/**
 * The timeline of task `id`, or undefined when there is none.
 * @param store the store (tasks, tool calls, approvals, deliveries are read)
 */
export async function taskTimeline(
  store: Pick<Store, "tasks" | "toolCalls" | "modelCalls" | "approvals" | "deliveries">,
  id: string,
): Promise<TaskTimeline | undefined> {
  const t = await store.tasks.get(id);
  if (!t) return undefined;
  const [calls, modelCalls, approvals, deliveries] = await Promise.all([
    store.toolCalls.list(t.id),
    store.modelCalls.list(t.id, TIMELINE_ROWS),
    store.approvals.list({ taskId: t.id, limit: TIMELINE_ROWS }),
    store.deliveries.list({ taskId: t.id, limit: TIMELINE_ROWS }),
  ]);
  const events: (TimelineEvent & { ms: number })[] = [];
  const add = (ms: number, kind: string, fields: Record<string, unknown> = {}) =>
    events.push({ ms, at: iso(ms), kind, ...fields });
  add(t.createdAt, "created", { status: "pending" });
  if (t.startedAt != null) add(t.startedAt, "started", { attempts: t.attempts });
  for (const m of modelCalls) {
    add(m.startedAt, "model_call", {
      model: m.model,
      duration_ms: m.durationMs,
      input_tokens: m.inputTokens,
      output_tokens: m.outputTokens,
      finish_reason: m.finishReason,
    });
  }
  for (const c of calls.slice(-TIMELINE_ROWS)) {
    add(c.createdAt - c.durationMs, "tool_call", {
      tool_call_id: c.id,
      tool: c.name,
      status: c.status,
      duration_ms: c.durationMs,
    });
  }
  for (const a of approvals) {
    add(a.requestedAt, "approval_requested", {
      approval_id: a.id,
      tool: a.tool,
      expires_at: iso(a.expiresAt),
    });
    if (a.decidedAt != null) {
      add(a.decidedAt, "approval_decided", {
        approval_id: a.id,
        tool: a.tool,
        status: a.status,
        decided_by: a.decidedBy,
        reason: a.reason,
      });
    }
  }
  if (t.completedAt != null) add(t.completedAt, "finished", { status: t.status, error: t.error });
  for (const d of deliveries) {
    add(d.createdAt, "delivery_queued", {
      delivery_id: d.id,
      target_type: d.targetType,
      status: d.status,
      attempts: d.attempts,
      last_status: d.lastStatus,
    });
    if (d.deliveredAt != null) {
      add(d.deliveredAt, "delivered", { delivery_id: d.id, target_type: d.targetType });
    }
  }
  events.sort((a, b) => a.ms - b.ms || (RANK[a.kind] ?? 9) - (RANK[b.kind] ?? 9));
  const tokens =
    t.inputTokens == null && t.outputTokens == null && t.totalTokens == null
      ? null
      : { input: t.inputTokens, output: t.outputTokens, total: t.totalTokens };
  return {
    task_id: t.id,
    status: t.status,
    attempts: t.attempts,
    tokens,
    events: events.map(({ ms: _ms, ...e }) => e),
  };
}

/** What taskTimelineApi needs. */
export interface TaskTimelineApiOptions {
  store: Pick<Store, "tasks" | "toolCalls" | "modelCalls" | "approvals" | "deliveries">;
}

/** Registers `GET /api/v1/tasks/{id}/timeline`. */
export const taskTimelineApi = apiPlugin<TaskTimelineApiOptions>((routes, { store }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/tasks/:id/timeline",
    summary:
      "A task's timeline, oldest first: created, started, model calls, tool calls, approvals requested and decided, finished, deliveries queued and delivered; with its token totals",
    scope: "tasks:read",
    params: idParams,
    async handler({ params }) {
      const tl = await taskTimeline(store, params.id);
      if (!tl) throw notFound("Task");
      return tl;
    },
  });
});
