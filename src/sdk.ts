/**
 * The public contract for integration authors, reached as `switchyard` through the
 * package's self-reference. Integrations use it with `import type` (erased at run time),
 * so a folder works from any directory; everything needed at run time arrives in `ctx`.
 * The `define*` helpers are identities for code inside this package.
 *
 * ```ts
 * import type { ToolDefinition } from "switchyard";
 * export default {
 *   name: "echo", description: "Echo text",
 *   parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
 *   execute: async ({ text }) => ({ text }),
 * } satisfies ToolDefinition;
 * ```
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { JsonSchemaObject, ToolContext } from "./agent/tools.ts";
import type { OutboundResult, PostOptions } from "./delivery/http-client.ts";
import type { Dispatcher } from "./dispatch/types.ts";
import type {
  DocumentInput,
  DocumentRecord,
  DocumentSearchQuery,
  DocumentSearchResult,
} from "./documents/types.ts";
import type { HookContext, LifecycleEvent } from "./hooks/lifecycle.ts";
import type { Scope } from "./store/api-keys.ts";
import type { ExecutionConfig } from "./store/tasks.ts";

export type { JsonSchemaObject, ToolContext } from "./agent/tools.ts";
export type { OutboundResult, PostOptions } from "./delivery/http-client.ts";
export type {
  DeliverOptions,
  DeliveryErrorInfo,
  Dispatcher,
  DispatchTask,
  PostMessageOptions,
} from "./dispatch/types.ts";
export type {
  DocumentInput,
  DocumentRecord,
  DocumentSearchHit,
  DocumentSearchQuery,
  DocumentSearchResult,
} from "./documents/types.ts";
export type { HookContext, LifecycleEvent } from "./hooks/lifecycle.ts";
export type { Scope } from "./store/api-keys.ts";
export type { ExecutionConfig } from "./store/tasks.ts";

/** A structured logger (pino's methods). */
export interface IntegrationLogger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** The one outbound HTTP client (timeouts, retries, SSRF guard); never throws for HTTP errors. */
export interface IntegrationHttp {
  postJson(url: string, body: unknown, opts?: PostOptions): Promise<OutboundResult>;
  request(
    method: string,
    url: string,
    opts?: PostOptions & { body?: string | Uint8Array },
  ): Promise<OutboundResult>;
}

/** Options of {@link IntegrationContext.injectMessage}. */
export interface InjectMessageOptions {
  role?: "user" | "assistant" | "system";
  /** Stored as metadata.source; default the integration's name. */
  source?: string;
  metadata?: Record<string, unknown>;
  /** Queue an agent turn on the message (default false). */
  runAgent?: boolean;
  executionConfig?: ExecutionConfig;
  /** Where the result goes: `{type: "<dispatcher>", ...config}`; default the session's. */
  dispatch?: Record<string, unknown> & { type: string };
  /** Per-task limit (s). */
  maxRunSeconds?: number;
  /**
   * The provider's delivery id (a webhook delivery header, an event or update id), recorded with the
   * message in one transaction: a redelivery with the same key stores nothing and comes
   * back with `duplicate: true` (also when copies race, and across restarts; kept 7 days).
   */
  dedupeKey?: string;
}

/** What every integration module receives at run time. */
export interface IntegrationContext<
  S extends Record<string, unknown> = Record<string, string | undefined>,
> {
  /** The integration's folder name (its id). */
  name: string;
  /** Its settings, resolved database → environment → default (see `config.ts`). */
  settings: S;
  log: IntegrationLogger;
  http: IntegrationHttp;
  /** The session of (bot, client_id), created when absent. Unknown bot → throws. */
  getOrCreateSession(
    clientId: string,
    opts?: { botId?: string; dispatchConfig?: Record<string, unknown> },
  ): Promise<{ sessionId: string; created: boolean }>;
  /** Stores a message (and, with runAgent, its task) in one transaction; the one inject path. */
  injectMessage(
    sessionId: string,
    content: string,
    opts?: InjectMessageOptions,
  ): Promise<{
    messageId: string;
    sessionId: string;
    taskId: string | null;
    /** True when `dedupeKey` was seen before: nothing was stored; ids are the first's. */
    duplicate: boolean;
  }>;
  /**
   * Stores a document, chunked and indexed (and embedded when an embedding model is set);
   * searchable when this resolves. `integrationId` defaults to this integration's name.
   * @throws when the embedding model fails (nothing is stored)
   */
  ingestDocument(doc: DocumentInput): Promise<DocumentRecord>;
  /** Searches documents (all of them unless filtered); `mode` says lexical or hybrid. */
  searchDocuments(query: DocumentSearchQuery): Promise<DocumentSearchResult>;
  /**
   * A Fastify preHandler that demands the server's API key with `scope` (401/403 otherwise),
   * for routes that do not verify their caller themselves.
   */
  requireApiKey(scope: Scope): (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

/** `index.ts`: optional metadata. */
export interface IntegrationMetadata {
  id?: string;
  name?: string;
  version?: string;
}

/** A tool (`tools/*.ts`). `parameters` is a JSON Schema object (or a Zod object schema). */
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

/**
 * `router.ts`: a Fastify plugin mounted at `/integrations/<name>/`. Every route must state
 * its auth in `config.auth`: `"self"` (the integration verifies the caller, e.g. a
 * webhook signature over `req.rawBody`) or an API scope such as `"sessions:write"`.
 */
export type RouterDefinition = (
  app: FastifyInstance,
  ctx: IntegrationContext,
) => Promise<void> | void;

/** `dispatcher.ts`: registered as dispatch type `<name>`. */
export type DispatcherDefinition = (ctx: IntegrationContext) => Dispatcher;

/** Metadata an integration declares in `hooks.ts`. */
export interface IntegrationMeta {
  integration_type?: string;
  client_id_prefix?: string;
  user_attribution?: (user: Record<string, unknown>) => Record<string, unknown>;
  resolve_display_names?: (
    clientIds: string[],
  ) => Promise<Record<string, string>> | Record<string, string>;
  resolve_dispatch_config?: (
    clientId: string,
  ) => Record<string, unknown> | null | Promise<Record<string, unknown> | null>;
}

/** `hooks.ts`: metadata and lifecycle callbacks. */
export interface HooksDefinition {
  meta?: IntegrationMeta;
  hooks?: Partial<Record<LifecycleEvent, (ctx: HookContext) => unknown>>;
}

/** `process.ts`: a supervised background process. */
export interface ProcessDefinition {
  description: string;
  /** argv: the program and its arguments. */
  command: string[];
  /** Settings that must all be set for the process to start. */
  requiredEnv?: string[];
}

/** One setting in `setup.ts`. */
export interface EnvVarSpec {
  key: string;
  required?: boolean;
  secret?: boolean;
  description?: string;
  default?: string;
}

/** `setup.ts`: the manifest. */
export interface SetupManifest {
  env_vars?: EnvVarSpec[];
  webhook?: { path: string; description?: string };
  sidebar_section?: Record<string, unknown>;
  dashboard_modules?: Array<Record<string, unknown>>;
  activation?: Record<string, unknown>;
}

/** Identity helpers (for code inside this package; external folders use `satisfies`). */
export const defineTool = <T extends ToolDefinition>(t: T): T => t;
export const defineRouter = (r: RouterDefinition): RouterDefinition => r;
export const defineDispatcher = (d: DispatcherDefinition): DispatcherDefinition => d;
export const defineHooks = (h: HooksDefinition): HooksDefinition => h;
export const defineProcess = (p: ProcessDefinition): ProcessDefinition => p;
export const defineSetup = (s: SetupManifest): SetupManifest => s;
