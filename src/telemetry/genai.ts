/**
 * Model and tool spans with the OpenTelemetry GenAI semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/):
 * - a CLIENT span `chat <model>` per LLM call (each step of a turn, each retry the SDK
 *   makes is inside it) with `gen_ai.operation.name=chat`, `gen_ai.provider.name`,
 *   `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.response.id`,
 *   `gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens` / `output_tokens`;
 * - an INTERNAL span `execute_tool <name>` per tool call with
 *   `gen_ai.operation.name=execute_tool`, `gen_ai.tool.name`, `gen_ai.tool.call.id`,
 *   `gen_ai.tool.type=function`.
 * Prompts, arguments and results are never recorded (they may hold personal data).
 * The model spans come from an AI SDK language-model middleware around each call.
 */
import type { LanguageModel, LanguageModelMiddleware, ToolSet } from "ai";
import {
  GEN_AI_OPERATION_NAME,
  GEN_AI_PROVIDER_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_RESPONSE_FINISH_REASONS,
  GEN_AI_RESPONSE_ID,
  GEN_AI_RESPONSE_MODEL,
  GEN_AI_TOOL_CALL_ID,
  GEN_AI_TOOL_NAME,
  GEN_AI_TOOL_TYPE,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  OP_CHAT,
  OP_EXECUTE_TOOL,
} from "./attributes.ts";
import { inSpan, markError, type Span, SpanKind, tracingEnabled } from "./spans.ts";

/** `provider:model` split; a spec without a provider names the model only. */
function splitSpec(spec: string): { provider: string | undefined; model: string } {
  const i = spec.indexOf(":");
  return i < 0
    ? { provider: undefined, model: spec }
    : { provider: spec.slice(0, i), model: spec.slice(i + 1) };
}

/** A middleware that puts each `doGenerate` of the model `spec` in a `chat` span. */
export function chatSpanMiddleware(spec: string): LanguageModelMiddleware {
  const { provider, model } = splitSpec(spec);
  return {
    specificationVersion: "v3",
    wrapGenerate: ({ doGenerate }) =>
      inSpan(
        `${OP_CHAT} ${model}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            [GEN_AI_OPERATION_NAME]: OP_CHAT,
            [GEN_AI_REQUEST_MODEL]: model,
            ...(provider ? { [GEN_AI_PROVIDER_NAME]: provider } : {}),
          },
        },
        async (span) => {
          const r = await doGenerate();
          const set = (k: string, v: string | number | string[] | undefined) => {
            if (v !== undefined) span.setAttribute(k, v);
          };
          set(GEN_AI_RESPONSE_FINISH_REASONS, [r.finishReason.unified]);
          set(GEN_AI_USAGE_INPUT_TOKENS, r.usage.inputTokens.total);
          set(GEN_AI_USAGE_OUTPUT_TOKENS, r.usage.outputTokens.total);
          set(GEN_AI_RESPONSE_MODEL, r.response?.modelId);
          set(GEN_AI_RESPONSE_ID, r.response?.id);
          return r;
        },
      ),
  };
}

/**
 * `model` with a `chat` span around each call when tracing is on; `model` itself when off
 * (or when it is not a v3 model object, which the registry never returns).
 */
export function tracedModel(
  ai: Pick<typeof import("ai"), "wrapLanguageModel">,
  model: LanguageModel,
  spec: string,
): LanguageModel {
  if (!tracingEnabled() || typeof model === "string" || model.specificationVersion !== "v3") {
    return model;
  }
  return ai.wrapLanguageModel({ model, middleware: chatSpanMiddleware(spec) });
}

/** Runs one tool call `fn` in an `execute_tool <name>` span. */
export function inToolSpan<T>(name: string, callId: string, fn: (span: Span) => Promise<T>) {
  return inSpan(
    `${OP_EXECUTE_TOOL} ${name}`,
    {
      attributes: {
        [GEN_AI_OPERATION_NAME]: OP_EXECUTE_TOOL,
        [GEN_AI_TOOL_NAME]: name,
        [GEN_AI_TOOL_CALL_ID]: callId,
        [GEN_AI_TOOL_TYPE]: "function",
      },
    },
    fn,
  );
}

/**
 * `set` with each tool's `execute` run in an `execute_tool` span (when tracing is on; `set`
 * itself when off). A call whose output is `{error}` (a tool that threw: see
 * agent/loop.ts) marks its span as an error with `error.type=tool_error`.
 */
export function tracedToolSet(set: ToolSet): ToolSet {
  if (!tracingEnabled()) return set;
  const out: ToolSet = {};
  for (const [name, t] of Object.entries(set)) {
    const run = t.execute;
    out[name] = run
      ? {
          ...t,
          execute: (args, o) =>
            inToolSpan(name, o.toolCallId, async (span) => {
              const output = await run(args, o);
              if (isErrorOutput(output)) markError(span, { name: "tool_error" });
              return output;
            }),
        }
      : t;
  }
  return out;
}

function isErrorOutput(v: unknown): boolean {
  return typeof v === "object" && v !== null && "error" in v && Object.keys(v).length === 1;
}
