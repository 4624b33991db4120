/**
 * The agent loop: one turn of a bot on a task, through the AI SDK. The model sees the
 * bot's system prompt (plus the run's `system_preamble` and the text of its skills: the
 * bot's, `execution_config.skills` and `@skill:<id>` tags), the session's recent history
 * and the task's prompt; it may call tools for up to `maxSteps` steps. 429/5xx answers
 * are retried by the SDK with backoff; then the bot's fallback models are tried in order.
 *
 * The AI SDK is imported by the first turn: a server that has run none does not hold it.
 */
import type { ModelMessage, ToolSet, UserContent } from "ai";
import type { Logger } from "pino";
import { approvalRequestsOf, type ParkedTurn, type TurnApprovals } from "../approvals/turn.ts";
import type { HookRegistry } from "../hooks/lifecycle.ts";
import type { HookContext } from "../sdk/hooks.ts";
import type { Bot } from "../store/bots.ts";
import type { Message } from "../store/messages.ts";
import type { ModelCallRecord } from "../store/model-calls.ts";
import type { Session } from "../store/sessions.ts";
import type { SkillRepository } from "../store/skills.ts";
import type { Task } from "../store/tasks.ts";
import type { ToolCallRecord } from "../store/tool-calls.ts";
import { tracedModel, tracedToolSet } from "../telemetry/genai.ts";
import type { ReportedUsage } from "./budget.ts";
import { guardToolSet, RepeatedCallGuard } from "./guards.ts";
import type { ModelRegistry } from "./models.ts";
import { runSkillIds, skillSection } from "./skills-context.ts";
import type { RegisteredTool, ToolRegistry } from "./tools.ts";

/** What the loop needs from the rest of the server. */
export interface AgentDeps {
  models: ModelRegistry;
  tools: ToolRegistry;
  skills: Pick<SkillRepository, "resolve">;
  hooks: HookRegistry;
  log: Logger;
  /** Stores one tool execution (name, args, result, duration). */
  recordToolCall(call: Omit<ToolCallRecord, "id" | "createdAt">): Promise<void>;
  /** Stores what the run could not honour on its task (the whole list each time). */
  recordWarnings(taskId: string, warnings: string[]): Promise<void>;
  /** Retries per model for retryable errors (429, 5xx), with the SDK's backoff. */
  maxRetries: number;
  /** Most LLM calls in one turn (default 10). */
  maxSteps: number;
  /**
   * The model content of a user message (its text plus its attachments as parts:
   * `attachments/model-content.ts`); without it the model sees the text alone.
   */
  userContent?: (
    text: string,
    metadata: Record<string, unknown> | undefined,
    session: Session,
  ) => Promise<UserContent>;
  /** Most runs of one tool with the same arguments in one turn (`agent/guards.ts`; default 3). */
  maxRepeatedToolCalls?: number;
  /**
   * Records one model call (an agent-loop step) of a task, for its timeline; optional.
   * Times in ms.
   */
  recordModelCall?(call: Omit<ModelCallRecord, "id">): Promise<void>;
  /** Adds one model call's reported token usage to the task and the day (`agent/budget.ts`). */
  recordUsage?(
    owner: { taskId: string; botId: string; sessionId: string },
    usage: ReportedUsage | undefined,
  ): Promise<void>;
}

/** One turn's input. `history` holds the session's messages before the task's own. */
export interface AgentTurnInput {
  task: Task;
  bot: Bot;
  session: Session;
  history: Message[];
  /** The metadata of the task's own message (its attachments), when it has one. */
  promptMetadata?: Record<string, unknown>;
  signal: AbortSignal;
  /** Which calls wait for a person, and the parked turn this run resumes (`approvals/`). */
  approvals?: TurnApprovals;
}

/** What a turn produced. */
export interface AgentTurnResult {
  text: string;
  /** The model spec that answered. */
  model: string;
  steps: number;
  toolCalls: number;
  /** Things the run could not honour (unknown skills, tools…); also stored on the task. */
  notes: string[];
  /** Set when a tool call waits for a person: the turn stops here and is parked. */
  parked?: ParkedTurn;
}

/**
 * Runs one agent turn.
 * @throws the last model error when every model failed, or an AbortError when `signal` fires
 */
export async function runAgentTurn(
  deps: AgentDeps,
  input: AgentTurnInput,
): Promise<AgentTurnResult> {
  const ai = await import("ai");
  const { task, bot, session, signal } = input;
  const exec = task.executionConfig ?? {};
  const notes: string[] = [];
  const hookBase = {
    botId: bot.id,
    sessionId: session.id,
    clientId: session.clientId,
    correlationId: task.id,
  };
  const fire = (event: Parameters<HookRegistry["fire"]>[0], extra: Record<string, unknown>) => {
    if (deps.hooks.has(event)) deps.hooks.fire(event, { ...hookBase, extra } satisfies HookContext);
  };

  const saveNotes = () =>
    deps
      .recordWarnings(task.id, notes)
      .catch((err) => deps.log.error({ err, task_id: task.id }, "could not record task warnings"));

  fire("before_context_assembly", { user_message: task.prompt });
  const { skills, unknown: unknownSkills } = await deps.skills.resolve(
    runSkillIds(bot.skills, exec.skills, task.prompt),
  );
  if (unknownSkills.length) {
    notes.push(`Unknown skills ignored: ${unknownSkills.join(", ")}`);
    deps.log.warn({ task_id: task.id, unknown: unknownSkills }, "unknown skills requested");
  }
  const system = [bot.systemPrompt, exec.system_preamble, ...skills.map(skillSection)]
    .filter((s) => s?.trim())
    .join("\n\n");
  const messages: ModelMessage[] = [];
  const userContent = (text: string, metadata?: Record<string, unknown>) =>
    deps.userContent ? deps.userContent(text, metadata, session) : text;
  for (const m of input.history) {
    if (m.role === "user") {
      messages.push({ role: "user", content: await userContent(m.content, m.metadata) });
    } else if (m.role === "assistant" || m.role === "system") {
      messages.push({ role: m.role, content: m.content });
    }
  }
  messages.push({ role: "user", content: await userContent(task.prompt, input.promptMetadata) });
  const resume = input.approvals?.resume;
  // A resumed turn goes on from its parked messages (with the decisions appended).
  if (resume) messages.splice(0, messages.length, ...resume.messages);

  const { tools: found, unknown } = deps.tools.resolve([...bot.tools, ...(exec.tools ?? [])]);
  if (unknown.length) {
    notes.push(`Unknown tools ignored: ${unknown.join(", ")}`);
    deps.log.warn({ task_id: task.id, unknown }, "unknown tools requested");
  }
  // Also when empty: an earlier attempt's list must not outlive a run that had none.
  if (notes.length || task.warnings?.length) await saveNotes();
  let toolsRan = false;
  const guard = new RepeatedCallGuard(deps.maxRepeatedToolCalls ?? 3);
  const toolSet = guardToolSet(
    tracedToolSet(
      buildToolSet(ai, deps, input, found, (event, extra) => {
        if (event === "before_tool_execution") toolsRan = true;
        fire(event, extra);
      }),
    ),
    guard,
    (name, args, message) =>
      deps
        .recordToolCall({
          taskId: task.id,
          sessionId: session.id,
          name,
          args,
          result: JSON.stringify({ error: message }),
          status: "error",
          durationMs: 0,
        })
        .catch((err) => deps.log.error({ err }, "could not record tool call")),
  );
  const usageOwner = { taskId: task.id, botId: bot.id, sessionId: session.id };

  // A resumed turn keeps its model: a fallback would see tool results it did not ask for.
  const candidates = resume
    ? [resume.model]
    : [exec.model_override ?? bot.model, ...bot.fallbackModels];
  const maxSteps = Math.max(1, deps.maxSteps - (resume?.steps ?? 0));
  let lastError: unknown;
  for (let i = 0; i < candidates.length; i++) {
    const spec = candidates[i]!;
    signal.throwIfAborted();
    try {
      // A `chat` span per LLM call when tracing is on (telemetry/genai.ts).
      const model = tracedModel(ai, await deps.models.get(spec), spec);
      let stepStarted = Date.now();
      let iteration = 0;
      let toolCalls = 0;
      const result = await ai.generateText({
        model,
        system: system || undefined,
        messages,
        allowSystemInMessages: true,
        tools: found.length ? toolSet : undefined,
        stopWhen: [ai.stepCountIs(maxSteps), () => guard.failure !== undefined],
        maxRetries: deps.maxRetries,
        abortSignal: signal,
        prepareStep: ({ messages: msgs }) => {
          iteration++;
          stepStarted = Date.now();
          fire("before_llm_call", {
            model: spec,
            message_count: msgs.length,
            tools_count: found.length,
            provider_id: spec.split(":")[0],
            iteration,
          });
          return undefined;
        },
        onStepFinish: async (step) => {
          toolCalls += step.toolCalls.length;
          await deps
            .recordUsage?.(usageOwner, step.usage)
            .catch((err) => deps.log.error({ err, task_id: task.id }, "could not record usage"));
          await deps
            .recordModelCall?.({
              taskId: task.id,
              model: spec,
              startedAt: stepStarted,
              durationMs: Date.now() - stepStarted,
              inputTokens: step.usage?.inputTokens ?? null,
              outputTokens: step.usage?.outputTokens ?? null,
              finishReason: step.finishReason ?? null,
            })
            .catch((err) =>
              deps.log.error({ err, task_id: task.id }, "could not record a model call"),
            );
          fire("after_llm_call", {
            model: spec,
            duration_ms: Date.now() - stepStarted,
            prompt_tokens: step.usage?.inputTokens,
            completion_tokens: step.usage?.outputTokens,
            total_tokens: step.usage?.totalTokens,
            tool_calls_count: step.toolCalls.length,
            fallback_used: i > 0,
            fallback_model: i > 0 ? spec : null,
            iteration,
            provider_id: spec.split(":")[0],
          });
        },
      });
      if (guard.failure) throw new TurnError(guard.failure);
      const requests = approvalRequestsOf(result.content);
      if (requests.length) {
        const steps = (resume?.steps ?? 0) + result.steps.length;
        const calls = (resume?.toolCalls ?? 0) + toolCalls;
        const all = [...messages, ...result.response.messages];
        const parked = { messages: all, model: spec, steps, toolCalls: calls, requests };
        return { text: "", model: spec, steps, toolCalls: calls, notes, parked };
      }
      if (result.finishReason === "tool-calls") {
        throw new TurnError(
          `The model was still calling tools after ${deps.maxSteps} steps; no answer was produced`,
        );
      }
      fire("after_response", { response_length: result.text.length, tool_calls_made: toolCalls });
      if (i > 0) {
        notes.push(`Answered by fallback model ${spec}`);
        await saveNotes();
      }
      return { text: result.text, model: spec, steps: result.steps.length, toolCalls, notes };
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      if (err instanceof TurnError) throw err;
      lastError = err;
      deps.log.warn(
        { task_id: task.id, model: spec, err: describeModelError(err) },
        "model failed",
      );
      // Fall back only when the model was unavailable (429/5xx/network, after retries), and
      // never after tools ran: a second model would run their side effects again.
      if (!isRetryableModelError(err) || toolsRan) break;
    }
  }
  throw new Error(describeModelError(lastError));
}

/** A turn that must fail as it is, without trying fallback models. */
class TurnError extends Error {}

/** True for errors that mean "this model is unavailable now": 408/409/429/5xx, network errors. */
export function isRetryableModelError(err: unknown): boolean {
  const e = err as { isRetryable?: boolean; lastError?: unknown; name?: string };
  if (e?.lastError !== undefined) return isRetryableModelError(e.lastError);
  if (typeof e?.isRetryable === "boolean") return e.isRetryable;
  return e?.name === "TypeError"; // fetch failed: the endpoint is unreachable
}

function buildToolSet(
  { tool, jsonSchema }: typeof import("ai"),
  deps: AgentDeps,
  input: AgentTurnInput,
  tools: RegisteredTool[],
  fire: (
    event: "before_tool_execution" | "after_tool_call",
    extra: Record<string, unknown>,
  ) => void,
): ToolSet {
  const set: ToolSet = {};
  let iteration = 0;
  for (const t of tools) {
    set[t.name] = tool({
      description: t.description,
      inputSchema: jsonSchema(t.parameters as Parameters<typeof jsonSchema>[0]),
      ...(input.approvals
        ? {
            needsApproval: (_args: unknown, o: { toolCallId: string }) =>
              input.approvals!.needsApproval(t.name, o.toolCallId),
          }
        : {}),
      execute: async (args: unknown, o: { toolCallId: string }) => {
        // An approved call runs at most once, even when an earlier run was cut off in it.
        const refused = await input.approvals?.beforeRun(o.toolCallId);
        if (refused) return { error: refused };
        iteration++;
        fire("before_tool_execution", { tool_name: t.name, tool_type: t.source, args, iteration });
        const started = performance.now();
        let output: unknown;
        let status: "ok" | "error" = "ok";
        try {
          output = await t.execute(args, {
            taskId: input.task.id,
            sessionId: input.session.id,
            botId: input.bot.id,
            signal: input.signal,
            log: deps.log,
          });
        } catch (err) {
          status = "error";
          output = { error: (err as Error)?.message ?? String(err) };
        }
        const durationMs = performance.now() - started;
        const text = typeof output === "string" ? output : JSON.stringify(output ?? null);
        await deps
          .recordToolCall({
            taskId: input.task.id,
            sessionId: input.session.id,
            name: t.name,
            args,
            result: text,
            status,
            durationMs,
          })
          .catch((err) => deps.log.error({ err }, "could not record tool call"));
        fire("after_tool_call", {
          tool_name: t.name,
          tool_args: args,
          duration_ms: Math.round(durationMs),
        });
        return output ?? null;
      },
    });
  }
  return set;
}

/** A one-line description of a model error, without request bodies or keys. */
export function describeModelError(err: unknown): string {
  const e = err as { name?: string; message?: string; statusCode?: number; lastError?: unknown };
  if (e?.lastError) return describeModelError(e.lastError);
  if (e?.statusCode) return `Model error: HTTP ${e.statusCode}: ${e.message ?? ""}`.trim();
  return `Model error: ${e?.message ?? String(err)}`;
}
