/**
 * Row types of a conversation and its turns: bots, sessions, channels, messages, tasks, the
 * model and tool calls of a turn, and the token usage budgets sum.
 * Times are milliseconds since the epoch (integers); JSON values are stored as text and
 * parsed by the repositories. Re-exported by ./schema.ts.
 */
import type { Generated } from "kysely";

/** `bots`: an agent configuration (prompt, model and fallbacks, tools, skills, policies). */
export interface BotsTable {
  id: string;
  name: string;
  system_prompt: string;
  model: string;
  /** JSON array of tool names. */
  tools: string;
  /** JSON array of skill ids. */
  skills: string;
  /** JSON array of `provider:model` tried in order when the main model fails. */
  fallback_models: string;
  display_name: string | null;
  avatar_url: string | null;
  /** JSON object, per-integration settings of this bot. */
  integration_config: string;
  /** Who owns it: `env` (follows SWITCHYARD_MODEL at every start) or `api`. */
  managed_by: string;
  /** JSON approval policy (`{default, tools}`), or NULL: never ask. */
  approval?: string | null;
  /** JSON object of runtime settings (src/runtime/config.ts), or null for the defaults. */
  runtime: string | null;
  /** JSON `{tokens_per_day?, tokens_per_session_per_day?}` or null (no budget). */
  budget?: string | null;
  created_at: number;
  updated_at: number;
}

/** `sessions`: one conversation of a client (`client_id`) with a bot. */
export interface SessionsTable {
  id: string;
  bot_id: string;
  client_id: string;
  /** JSON object or null. */
  dispatch_config: string | null;
  created_at: number;
  updated_at: number;
  /** When the session was ended (POST /sessions/{id}/end), else null. */
  ended_at?: number | null;
}

/** `channels`: an outside conversation (an adapter's channel) bound to a bot. */
export interface ChannelsTable {
  id: string;
  /** `<integration>:<team>:<channel>` (see adapters/conversation.ts); unique. */
  client_id: string;
  /** The adapter's name. */
  integration: string;
  team: string | null;
  channel: string;
  bot_id: string;
  /** The conversation's current session (set by the adapter host), or null. */
  active_session_id: string | null;
  /** 1/0, or null: true in group conversations, false in direct messages. */
  require_mention: number | null;
  /** 1: messages without a mention are stored (without a turn); 0: ignored. */
  passive_memory: number;
  created_at: number;
  updated_at: number;
}

/** `messages`: one message of a session, in `seq` order. */
export interface MessagesTable {
  id: string;
  session_id: string;
  role: string;
  content: string;
  /** JSON object. */
  metadata: string;
  created_at: number;
  /** Store-assigned order (migration 0022): commit order within a session. */
  seq: Generated<number>;
}

/** `waiting_approval`: parked on a tool approval (no lease), see `src/approvals/`. */
export type TaskStatus =
  | "pending"
  | "running"
  | "waiting_approval"
  | "complete"
  | "failed"
  | "cancelled";

/** `tasks`: the queue: one agent turn of a session, its lease, result and dispatch. */
export interface TasksTable {
  id: string;
  session_id: string;
  bot_id: string;
  message_id: string | null;
  prompt: string;
  status: TaskStatus;
  result: string | null;
  error: string | null;
  dispatch_type: string;
  dispatch_config: string | null;
  execution_config: string | null;
  callback_config: string | null;
  max_run_seconds: number | null;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  created_at: number;
  /** Earliest time the task may start (ms). */
  run_at: number;
  started_at: number | null;
  completed_at: number | null;
  /** JSON array of strings: what the run could not honour (unknown skills, tools…), or null. */
  warnings: string | null;
  /** Tokens the model reported for this task (all steps and attempts); null before any. */
  input_tokens?: number | null;
  output_tokens?: number | null;
  total_tokens?: number | null;
  /** The task whose `delegate` call made this one (`callback_config.parent_task_id`), else null. */
  parent_task_id?: string | null;
  /** W3C `traceparent` of the work that created it (migration 0023), or null. */
  traceparent?: string | null;
}

/** `model_calls`: one model call (agent-loop step) of a task (migration 0025). */
export interface ModelCallsTable {
  id: string;
  task_id: string;
  model: string;
  /** ms since the epoch. */
  started_at: number;
  duration_ms: number;
  input_tokens: number | null;
  output_tokens: number | null;
  finish_reason: string | null;
}

/** `tool_calls`: one tool call made inside a task. */
export interface ToolCallsTable {
  id: string;
  task_id: string;
  session_id: string;
  name: string;
  args: string;
  result: string | null;
  status: "ok" | "error";
  duration_ms: number;
  created_at: number;
}

/** Tokens used per UTC day, bot and session (budgets sum these rows). */
export interface TokenUsageTable {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  bot_id: string;
  session_id: string;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  updated_at: number;
}
