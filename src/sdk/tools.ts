/** Agent tools: what the model may call during a turn (`tools/*.ts` in an integration folder). */
import type { IntegrationContext } from "./context.ts";
import type { IntegrationLogger } from "./logger.ts";

/** JSON Schema of a tool's arguments (an object schema). */
export type JsonSchemaObject = {
  type: "object";
  properties?: Record<string, unknown>;
  [k: string]: unknown;
};

/** What a tool's `execute` receives besides its arguments. */
export interface ToolContext {
  taskId: string;
  sessionId: string;
  botId: string;
  /** Aborted when the task is cancelled or times out. */
  signal: AbortSignal;
  log: IntegrationLogger;
}

/**
 * A tool (`tools/*.ts`). `parameters` is a JSON Schema object (or a Zod object schema).
 * `execute` returns any JSON-serialisable value or a string; a thrown error is shown to
 * the model as the tool's error.
 */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: JsonSchemaObject | { _zod: unknown };
  execute(
    args: any,
    ctx: ToolContext & { integration: IntegrationContext },
  ): unknown | Promise<unknown>;
}

/** The seed's OpenAI function-schema form of a tool, also accepted. */
export interface OpenAiFunctionTool {
  type: "function";
  function: { name: string; description?: string; parameters?: JsonSchemaObject };
  execute(
    args: any,
    ctx: ToolContext & { integration: IntegrationContext },
  ): unknown | Promise<unknown>;
}
