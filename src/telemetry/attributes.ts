/**
 * Attribute names of switchyard's spans. The `gen_ai.*` names are the OpenTelemetry GenAI
 * semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/,
 * checked against `@opentelemetry/semantic-conventions` 1.45 `incubating`): they are still
 * "development" there, so they are copied here as the package advises rather than imported
 * from its unstable entry point. The `http.*` / `url.*` names are stable HTTP conventions
 * (https://opentelemetry.io/docs/specs/semconv/http/http-spans/); `switchyard.*` are ours.
 */

/** `chat` for a model call, `execute_tool` for a tool call. */
export const GEN_AI_OPERATION_NAME = "gen_ai.operation.name";
/** The provider, e.g. `openai`, `anthropic` (the prefix of a model spec `provider:model`). */
export const GEN_AI_PROVIDER_NAME = "gen_ai.provider.name";
export const GEN_AI_REQUEST_MODEL = "gen_ai.request.model";
export const GEN_AI_RESPONSE_MODEL = "gen_ai.response.model";
export const GEN_AI_RESPONSE_ID = "gen_ai.response.id";
/** A string array, one finish reason per choice (`stop`, `tool-calls`…). */
export const GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons";
export const GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens";
export const GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens";
export const GEN_AI_TOOL_NAME = "gen_ai.tool.name";
export const GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id";
/** `function` for the tools switchyard runs itself. */
export const GEN_AI_TOOL_TYPE = "gen_ai.tool.type";
/** The session a turn belongs to. */
export const GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id";
export const GEN_AI_AGENT_ID = "gen_ai.agent.id";

export const OP_CHAT = "chat";
export const OP_EXECUTE_TOOL = "execute_tool";
export const OP_INVOKE_AGENT = "invoke_agent";

export const HTTP_REQUEST_METHOD = "http.request.method";
export const HTTP_ROUTE = "http.route";
export const HTTP_RESPONSE_STATUS_CODE = "http.response.status_code";
export const URL_PATH = "url.path";
export const ERROR_TYPE = "error.type";

export const TASK_ID = "switchyard.task.id";
export const TASK_ATTEMPT = "switchyard.task.attempt";
export const DELIVERY_ID = "switchyard.delivery.id";
export const DELIVERY_TARGET_TYPE = "switchyard.delivery.target_type";
export const DELIVERY_ATTEMPT = "switchyard.delivery.attempt";
export const DELIVERY_OUTCOME = "switchyard.delivery.outcome";
