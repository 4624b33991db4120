/**
 * The `after_task_complete` lifecycle hook, fired after a task reached `complete` or
 * `failed` (the TaskFinisher's `onFinished`). Its `task.completed` / `task.failed` events
 * were already written with the task's final state; the hook is fire-and-forget.
 */
import type { Logger } from "pino";
import type { HookRegistry } from "../hooks/lifecycle.ts";
import type { Store } from "../store/index.ts";
import type { Task } from "../store/tasks.ts";

/**
 * Makes the `onFinished` callback that fires `after_task_complete` with
 * `{task_id, status}` and the task's session and client id. Never throws and never waits;
 * a failed session lookup is logged and skips the hook.
 */
export function createTaskFinishedHook(deps: {
  store: Store;
  hooks: HookRegistry;
  log: Logger;
}): (task: Task, status: "complete" | "failed") => void {
  return (task, status) => {
    if (!deps.hooks.has("after_task_complete")) return;
    deps.store.sessions.get(task.sessionId).then(
      (session) =>
        deps.hooks.fire("after_task_complete", {
          botId: task.botId,
          sessionId: task.sessionId,
          clientId: session?.clientId ?? null,
          correlationId: task.id,
          extra: { task_id: task.id, status },
        }),
      (err) => deps.log.warn({ err, task_id: task.id }, "after_task_complete hook skipped"),
    );
  };
}
