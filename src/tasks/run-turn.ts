/**
 * The turn runner: what the task worker runs for each claimed task. It loads the task's
 * bot, session and history and runs one agent turn (`agent/loop.ts`), recording each tool
 * call (row + mapped event) and the run's warnings on the task.
 */
import type { Logger } from "pino";
import { BudgetExceededError, checkTokenBudget, usageRecorder } from "../agent/budget.ts";
import { type AgentDeps, runAgentTurn } from "../agent/loop.ts";
import type { ModelRegistry } from "../agent/models.ts";
import type { ToolRegistry } from "../agent/tools.ts";
import type { ApprovalService } from "../approvals/service.ts";
import type { HookRegistry } from "../hooks/lifecycle.ts";
import { UnknownBotError } from "../sessions/errors.ts";
import type { Store } from "../store/index.ts";
import type { SkillRepository } from "../store/skills.ts";
import type { Task } from "../store/tasks.ts";
import type { ToolCallRecord } from "../store/tool-calls.ts";
import type { TaskOutput } from "./worker.ts";

/** What a turn runner needs. */
export interface TurnRunnerDeps {
  store: Store;
  models: ModelRegistry;
  tools: ToolRegistry;
  skills: Pick<SkillRepository, "resolve">;
  hooks: HookRegistry;
  log: Logger;
  /** Told about each tool call after it ran (maps it to an event); must not throw. */
  onToolCall?: (call: Omit<ToolCallRecord, "id" | "createdAt">) => void;
  /** LLM retries per model for retryable errors (default 2). */
  maxRetries?: number;
  /** Most LLM calls in one turn (default 10). */
  maxSteps?: number;
  /** Most history messages the model sees before the task's own (default 50). */
  historyLimit?: number;
  /** Tool approvals: calls that wait for a person park the task (`src/approvals/`). */
  approvals?: Pick<ApprovalService, "forRun" | "park">;
  /** The model content of a user message with its attachments (see AgentDeps). */
  userContent?: AgentDeps["userContent"];
  /** Most runs of one tool with the same arguments in one turn (default 3). */
  maxRepeatedToolCalls?: number;
  /**
   * Told when a task is refused for its bot's token budget, before it fails (emits the
   * `error` event); must not throw.
   */
  onBudgetExceeded?: (task: Task, err: BudgetExceededError) => void;
}

/** Runs one task's agent turn; the task worker's `execute`. */
export type TurnRunner = (task: Task, signal: AbortSignal) => Promise<TaskOutput>;

/**
 * Makes the turn runner. The runner rejects (failing the task) when the bot or session is
 * gone, when the bot's token budget for the day is used up (BudgetExceededError, before
 * the model is called), when every model failed, or with an AbortError when `signal` fires.
 */
export function createTurnRunner(deps: TurnRunnerDeps): TurnRunner {
  const { store } = deps;
  const agent: AgentDeps = {
    models: deps.models,
    tools: deps.tools,
    skills: deps.skills,
    hooks: deps.hooks,
    log: deps.log,
    recordToolCall: (c) => {
      deps.onToolCall?.(c);
      return store.toolCalls.insert(c);
    },
    recordWarnings: (id, warnings) => store.tasks.setWarnings(id, warnings),
    maxRetries: deps.maxRetries ?? 2,
    maxSteps: deps.maxSteps ?? 10,
    ...(deps.userContent ? { userContent: deps.userContent } : {}),
    maxRepeatedToolCalls: deps.maxRepeatedToolCalls,
    recordUsage: usageRecorder(store.tokenUsage),
    recordModelCall: (c) => store.modelCalls.insert(c),
  };
  return async (task, signal) => {
    const bot = await store.bots.get(task.botId);
    if (!bot) throw new UnknownBotError(task.botId);
    const session = await store.sessions.get(task.sessionId);
    if (!session) throw new Error(`Session ${task.sessionId} no longer exists`);
    try {
      await checkTokenBudget(store.tokenUsage, bot.budget, bot.id, session.id);
    } catch (err) {
      if (err instanceof BudgetExceededError) deps.onBudgetExceeded?.(task, err);
      throw err;
    }
    const history = await store.messages.turnHistory(
      task.sessionId,
      task.messageId,
      deps.historyLimit ?? 50,
    );
    const approvals = await deps.approvals?.forRun(task, bot);
    const own = task.messageId ? await store.messages.get(task.messageId) : undefined;
    const out = await runAgentTurn(agent, {
      task,
      bot,
      session,
      history,
      signal,
      approvals,
      ...(own ? { promptMetadata: own.metadata } : {}),
    });
    if (out.parked) {
      // Parked (or, when the park lost its compare-and-set, someone else's now): not finished.
      await deps.approvals!.park(task, out.parked);
      return { text: "", model: out.model, notes: out.notes, parked: true };
    }
    return { text: out.text, model: out.model, notes: out.notes };
  };
}
