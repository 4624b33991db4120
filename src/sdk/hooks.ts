/** Lifecycle hooks and integration metadata (`hooks.ts` in an integration folder). */

/** Events core fires, in the order of a turn. */
export const LIFECYCLE_EVENTS = [
  "before_context_assembly",
  "before_llm_call",
  "after_llm_call",
  "before_tool_execution",
  "after_tool_call",
  "after_response",
  "after_task_complete",
  "before_transcription",
] as const;

/** One lifecycle event name. */
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

/** What every hook receives. */
export interface HookContext {
  botId: string;
  sessionId: string;
  channelId?: string | null;
  clientId: string | null;
  /** The task id; ties together every event of one run. */
  correlationId: string;
  extra: Record<string, unknown>;
}

/** A hook callback; sync or async. Its errors are logged and never reach the turn. */
export type HookCallback = (ctx: HookContext) => unknown;

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
  hooks?: Partial<Record<LifecycleEvent, HookCallback>>;
}
