/**
 * Builds the server's task worker: the finisher (final state, reply delivery and the
 * `after_task_complete` hook in one place) and the turn runner it executes, from the
 * settings (`SWITCHYARD_WORKER_CONCURRENCY`, `SWITCHYARD_TASK_LEASE_SECONDS`, …) and the
 * test knobs (`AppTuning`). app.ts calls this.
 */
import type { Logger } from "pino";
import { budgetErrorEvent } from "../agent/budget.ts";
import type { ModelRegistry } from "../agent/models.ts";
import type { ToolRegistry } from "../agent/tools.ts";
import type { ApprovalService } from "../approvals/service.ts";
import type { AttachmentService } from "../attachments/service.ts";
import { modelContent } from "../attachments/wiring.ts";
import type { Config } from "../config.ts";
import type { EventService } from "../events/events.ts";
import type { HookRegistry } from "../hooks/lifecycle.ts";
import type { Store } from "../store/index.ts";
import type { SkillRepository } from "../store/skills.ts";
import type { AppTuning } from "../tuning.ts";
import { type FinishRows, TaskFinisher } from "./finish.ts";
import { createTaskFinishedHook } from "./finished-hook.ts";
import { createTurnRunner } from "./run-turn.ts";
import { TaskWorker } from "./worker.ts";

/** What {@link createTaskWorker} needs. */
export interface TaskWiring {
  config: Pick<
    Config,
    | "SWITCHYARD_WORKER_CONCURRENCY"
    | "SWITCHYARD_TASK_LEASE_SECONDS"
    | "TASK_MAX_RUN_SECONDS"
    | "SWITCHYARD_MAX_REPEATED_TOOL_CALLS"
  >;
  tuning: Pick<AppTuning, "taskLeaseMs" | "pollMs" | "llmMaxRetries">;
  store: Store;
  log: Logger;
  /** This process's lease owner id. */
  owner: string;
  models: ModelRegistry;
  tools: ToolRegistry;
  skills: SkillRepository;
  hooks: HookRegistry;
  /** Tool calls become events; a token-budget refusal emits the `error` event. */
  events: Pick<EventService, "toolCalled" | "emit">;
  approvals: ApprovalService;
  /** Gives the model a user message's attachments. */
  attachments: AttachmentService;
  /** More outbox rows written in a task's finishing transaction (event deliveries). */
  finishRows: FinishRows;
  /** Wakes the delivery worker after a finished task queued its reply. */
  onOutbox(): void;
  /** Tells other instances that runnable tasks are waiting (the wake-up bus). */
  onPoke(): void;
}

/**
 * The server's task worker (start it with the other workers; stop it with the grace
 * period). Its lease is `tuning.taskLeaseMs` when set, else
 * `SWITCHYARD_TASK_LEASE_SECONDS` × 1000 ms.
 */
export function createTaskWorker(w: TaskWiring): TaskWorker {
  const { config, tuning, store, log, events } = w;
  const finisher = new TaskFinisher(
    store,
    w.onOutbox,
    createTaskFinishedHook({ store, hooks: w.hooks, log }),
    w.finishRows,
  );
  return new TaskWorker({
    store,
    finisher,
    log,
    owner: w.owner,
    concurrency: config.SWITCHYARD_WORKER_CONCURRENCY,
    leaseMs: tuning.taskLeaseMs ?? config.SWITCHYARD_TASK_LEASE_SECONDS * 1000,
    pollMs: tuning.pollMs,
    defaultMaxRunSeconds: config.TASK_MAX_RUN_SECONDS,
    onPoke: w.onPoke,
    execute: createTurnRunner({
      store,
      models: w.models,
      tools: w.tools,
      skills: w.skills,
      hooks: w.hooks,
      log,
      onToolCall: (call) => events.toolCalled(call),
      maxRetries: tuning.llmMaxRetries,
      approvals: w.approvals,
      userContent: modelContent(w.attachments),
      maxRepeatedToolCalls: config.SWITCHYARD_MAX_REPEATED_TOOL_CALLS,
      onBudgetExceeded: (task, err) => events.emit("error", budgetErrorEvent(task, err)),
    }),
  });
}
