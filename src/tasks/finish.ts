/**
 * Finishing a task: its final status, the assistant message and the outbox delivery are
 * written in one transaction, so a result is never lost between "done" and "sent", and
 * never sent for a task someone else finished (a cancel, or a lease taken over).
 */
import type { DispatchTask } from "../sdk/dispatch.ts";
import type { Repositories, Store } from "../store/index.ts";
import type { TaskStatus } from "../store/schema.ts";
import type { Task } from "../store/tasks.ts";
import { currentTraceparent } from "../telemetry/spans.ts";

/**
 * More outbox rows to write in the finishing transaction (event deliveries), so they
 * commit with the task's final state or not at all. `prepare` runs before the transaction
 * (to load what `write` needs without reading inside it); `write` returns how many rows it
 * wrote.
 */
export interface FinishRows {
  prepare(): Promise<void>;
  write(
    tx: Repositories,
    task: Task,
    outcome: { status: "complete"; result: string } | { status: "failed"; error: string },
  ): Promise<number>;
}

/** Writes final task states and queues their deliveries. */
export class TaskFinisher {
  readonly #store: Store;
  readonly #onDelivery: () => void;
  readonly #onFinished: (task: Task, status: "complete" | "failed") => void;
  readonly #extra: FinishRows | undefined;
  /**
   * @param onDelivery called after a delivery was queued (wakes the delivery worker)
   * @param onFinished called after a task reached complete or failed (fires hooks)
   * @param extra more outbox rows written in the same transaction
   */
  constructor(
    store: Store,
    onDelivery: () => void,
    onFinished: (task: Task, status: "complete" | "failed") => void = () => {},
    extra?: FinishRows,
  ) {
    this.#store = store;
    this.#onDelivery = onDelivery;
    this.#onFinished = onFinished;
    this.#extra = extra;
  }

  /**
   * Marks `task` complete with `text`, stores the assistant message and queues the delivery.
   * @param owner the worker that holds the lease; nothing is written if it lost the lease
   * @returns false when the task was no longer this owner's running task
   */
  async complete(
    task: Task,
    text: string,
    owner: string,
    meta: { model?: string; notes?: string[] } = {},
  ): Promise<boolean> {
    await this.#extra?.prepare();
    let extraRows = 0;
    const ok = await this.#store.transaction(async (tx) => {
      const updated = await tx.tasks.finish(
        task.id,
        { status: "complete", result: text },
        { from: ["running"], owner },
      );
      if (!updated) return false;
      extraRows = (await this.#extra?.write(tx, task, { status: "complete", result: text })) ?? 0;
      await tx.messages.insert({
        sessionId: task.sessionId,
        role: "assistant",
        content: text,
        metadata: {
          source: "agent",
          task_id: task.id,
          ...(meta.model ? { model: meta.model } : {}),
          ...(meta.notes?.length ? { notes: meta.notes } : {}),
        },
      });
      await this.#queueDelivery(tx, task, { status: "complete", result: text });
      return true;
    });
    if (ok && (task.dispatchType !== "none" || extraRows > 0)) this.#onDelivery();
    if (ok) this.#onFinished(task, "complete");
    return ok;
  }

  /**
   * Marks `task` failed with `error` and queues the delivery of `"[Error: <error>]"`.
   * @param guard statuses it may move from and, optionally, the lease owner it must have
   */
  async fail(
    task: Task,
    error: string,
    guard: { from: TaskStatus[]; owner?: string },
  ): Promise<boolean> {
    await this.#extra?.prepare();
    let extraRows = 0;
    const ok = await this.#store.transaction(async (tx) => {
      const updated = await tx.tasks.finish(task.id, { status: "failed", error }, guard);
      if (!updated) return false;
      extraRows = (await this.#extra?.write(tx, task, { status: "failed", error })) ?? 0;
      await this.#queueDelivery(tx, task, { status: "failed", error });
      return true;
    });
    if (ok && (task.dispatchType !== "none" || extraRows > 0)) this.#onDelivery();
    if (ok) this.#onFinished(task, "failed");
    return ok;
  }

  /** Queues the dispatch delivery; a failed task delivers `"[Error: <error>]"`. */
  async #queueDelivery(tx: Repositories, task: Task, outcome: Outcome): Promise<void> {
    if (task.dispatchType === "none") return;
    const result = outcome.status === "complete" ? outcome.result : `[Error: ${outcome.error}]`;
    await tx.deliveries.insert({
      taskId: task.id,
      // The task run's span (finishing runs inside it), else the trace the task came with.
      traceparent: currentTraceparent() ?? task.traceparent,
      targetType: task.dispatchType,
      target: task.dispatchConfig ?? {},
      payload: {
        task_id: task.id,
        status: outcome.status,
        result,
        task: dispatchTaskOf(task, outcome),
      },
    });
  }
}

/** How a task ended. */
type Outcome = { status: "complete"; result: string } | { status: "failed"; error: string };

/**
 * The task as its dispatcher sees it, stored in the delivery row's payload (`task`) so the
 * delivery worker never reads the task again.
 */
function dispatchTaskOf(task: Task, outcome: Outcome): DispatchTask {
  return {
    id: task.id,
    session_id: task.sessionId,
    bot_id: task.botId,
    status: outcome.status,
    prompt: task.prompt,
    result: outcome.status === "complete" ? outcome.result : null,
    error: outcome.status === "failed" ? outcome.error : null,
    dispatch_type: task.dispatchType,
    dispatch_config: task.dispatchConfig ?? {},
    callback_config: task.callbackConfig ?? null,
  };
}
