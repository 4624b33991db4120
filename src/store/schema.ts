/**
 * Row types of every table, as Kysely sees them. Times are milliseconds since the
 * epoch (integers); JSON values are stored as text and parsed by the repositories.
 */
import type { Generated } from "kysely";
import type { ApprovalsTable, TurnCheckpointsTable } from "./approval-tables.ts";

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

export type DeliveryStatus = "pending" | "delivered" | "failed" | "dead";

export interface DeliveriesTable {
  /** Stable delivery id; the receiver's idempotency key (`webhook-id`). */
  id: string;
  task_id: string | null;
  /** Dispatch type (dispatcher name) that sends it. */
  target_type: string;
  /** JSON dispatch_config. */
  target: string;
  /** JSON payload handed to the dispatcher. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
  /** The webhook subscription an event delivery goes to, else null. */
  subscription_id: string | null;
  /** The receiver it goes to (`lib/destination.ts`): the unit of fairness and caps. */
  destination: string;
  /** W3C `traceparent` of the work that queued it (migration 0023), or null. */
  traceparent?: string | null;
}

/** One outbox attempt of a delivery (migration 0024). Times in ms since the epoch. */
export interface DeliveryAttemptsTable {
  id: string;
  delivery_id: string;
  /** The delivery's attempt count when this attempt was claimed (1 = first). */
  attempt: number;
  started_at: number;
  duration_ms: number;
  status: "delivered" | "failed" | "dead";
  http_status: number | null;
  error: string | null;
  /** HTTP requests the attempt made through the outbound client (its own retries included). */
  requests: number;
  /** The last request: method, URL cut to `scheme://host`, headers (JSON, secrets masked). */
  request_method: string | null;
  request_url: string | null;
  request_headers: string | null;
  /** The first bytes of the last response's body, as text. */
  response_excerpt: string | null;
  response_truncated: number;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  /** sha256 hex of the key; the key itself is never stored. */
  key_hash: string;
  /** JSON array of scopes. */
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface IntegrationSettingsTable {
  integration: string;
  key: string;
  /** The value, or its AES-256-GCM ciphertext (`v1:<iv>:<tag>:<data>`, base64) when encrypted. */
  value: string;
  encrypted: number;
  updated_at: number;
}

/** Skills synced from integration folders (`integrations/<name>/skills/*.md`). */
export interface SkillsTable {
  /** `integrations/<name>/<stem>` */
  id: string;
  integration: string;
  name: string;
  description: string;
  /** The Markdown body, without its front matter. */
  content: string;
  /** The file it was read from. */
  source: string;
  /** sha256 hex of the whole file. */
  content_hash: string;
  created_at: number;
  updated_at: number;
}

/** Ingested documents (see src/documents/). */
export interface DocumentsTable {
  id: string;
  title: string | null;
  content: string;
  integration_id: string | null;
  session_id: string | null;
  /** JSON object. */
  metadata: string;
  created_at: number;
}

/**
 * Chunks of documents, the unit of search. SQLite indexes them in the FTS5 table
 * `document_chunks_fts` (kept by triggers); PostgreSQL in the `tsv` column (GIN).
 */
export interface DocumentChunksTable {
  /** Integer key, increasing (SQLite AUTOINCREMENT, PostgreSQL bigserial); the FTS5 rowid. */
  id: Generated<number>;
  document_id: string;
  /** Position of the chunk in its document, from 0. */
  ordinal: number;
  content: string;
  integration_id: string | null;
  session_id: string | null;
  /** The `provider:model` that made `embedding`, or null when not embedded. */
  embedding_model: string | null;
  /** Unit-length float32 vector, little-endian; null when not embedded (or held in pgvector). */
  embedding: Uint8Array | null;
  /** PostgreSQL only: the full-text vector (title A, content B). */
  tsv?: string;
  /** PostgreSQL with pgvector only: the embedding as a `vector`. */
  embedding_vec?: string | null;
}

/** One row (id 1): a counter bumped by every document write. */
export interface DocumentIndexStateTable {
  id: number;
  generation: number;
}

/** Provider delivery ids already accepted: a redelivery with the same key creates nothing. */
export interface InboundReceiptsTable {
  /** Who issued the key (an integration name, `api`). */
  source: string;
  key: string;
  message_id: string | null;
  task_id: string | null;
  /** A digest of the request that used the key (Idempotency-Key), else null. */
  fingerprint: string | null;
  created_at: number;
}

/** Outbound event webhook subscriptions. */
export interface WebhookSubscriptionsTable {
  id: string;
  url: string;
  /** JSON array of event names; empty = all events. */
  events: string;
  /** The signing secret (AES-256-GCM ciphertext when `secret_encrypted`), or null. */
  secret: string | null;
  secret_encrypted: number;
  /** Set when the receiver answered 410 Gone (or an operator disabled it). */
  disabled_at: number | null;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
}

/** Notification history (newest 200 kept). */
export interface NotificationsTable {
  id: string;
  channel: string;
  message: string;
  priority: string;
  delivered: number;
  /** Its outbox row, when it was sent through one. */
  delivery_id: string | null;
  /** JSON object: webhook host, attachments count, reason when not delivered… */
  meta: string;
  created_at: number;
}

/** Named JSON settings documents (`git_auto_commit`…) with an optimistic version. */
export interface IntegrationsStateTable {
  key: string;
  /** JSON value. */
  value: string;
  version: number;
  updated_at: number;
}

/**
 * A small durable key → JSON value store per integration (`ctx.state`), e.g. a chat
 * adapter's polling offset.
 */
export interface IntegrationKvTable {
  integration: string;
  key: string;
  /** JSON value. */
  value: string;
  updated_at: number;
}

/**
 * Named leases: at most one holder of `name` at a time, until `expires_at` (ms since the
 * epoch) unless renewed (`ctx.exclusive`, singleton work across instances).
 */
export interface LeasesTable {
  name: string;
  /** The holder's id (an instance id plus a per-run suffix). */
  holder: string;
  expires_at: number;
  /** When this holder first took the lease. */
  acquired_at: number;
}

/** A running server (issue 14): written every heartbeat, deleted on a clean stop. */
export interface InstancesTable {
  /** The instance's owner id (`<hostname>:<pid>:<random>`), as in its leases. */
  id: string;
  version: string;
  hostname: string;
  /** When it started, ms since the epoch. */
  started_at: number;
  /** Its last heartbeat, ms since the epoch. */
  last_heartbeat_at: number;
}

/** A scheduled job (issue 14): what to inject, where, and when next. */
export interface JobsTable {
  id: string;
  name: string;
  /** JSON: `{cron, tz?}`, `{every_seconds}` or `{at}`. */
  schedule: string;
  /** JSON: `{session_id}` or `{bot_id, client_id}`. */
  target: string;
  prompt: string;
  /** JSON object or null. */
  execution_config: string | null;
  /** JSON object or null. */
  dispatch_config: string | null;
  /** 1/0. */
  enabled: number;
  missed: string;
  overlap: string;
  /** The next slot to fire (ms); null when it never fires again (disabled, one-shot done). */
  next_run_at: number | null;
  /** The integration whose jobs.ts declares it, or null for a job made through the API. */
  integration: string | null;
  /** SHA-256 of the declared definition (integration jobs), else null. */
  definition_hash: string | null;
  created_at: number;
  updated_at: number;
}

/** `queued` (a task was or is being injected), `skipped` or `failed` (never injected). */
export type JobRunStoredStatus = "queued" | "skipped" | "failed";

/** One firing of a job: UNIQUE per (job_id, scheduled_for). */
export interface JobRunsTable {
  id: string;
  job_id: string;
  /** The slot this run stands for (ms); UNIQUE with job_id. */
  scheduled_for: number;
  /** How many slots it stands for (more than 1 after downtime). */
  covers: number;
  /** 1 for a run-now. */
  manual: number;
  status: JobRunStoredStatus;
  reason: string | null;
  session_id: string | null;
  task_id: string | null;
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

/** The whole database, for `Kysely<Database>`. */
/** An admin UI sign-in session: only the SHA-256 of the cookie's random id is kept. */
export interface UiSessionsTable {
  id_hash: string;
  /** The API key it was opened with (`static` for SWITCHYARD_API_KEY). */
  key_id: string;
  created_at: number;
  expires_at: number;
}

/** `attachments`: one stored file, owned by one scope (migration 0019). */
export interface AttachmentsTable {
  id: string;
  /** `session`, `channel` or `bot`. */
  scope_kind: string;
  scope_id: string;
  name: string;
  media_type: string;
  /** Bytes. */
  size: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
  /** Where the bytes are in the attachment store (a relative path or an object key). */
  storage_key: string;
  /** ms since the epoch. */
  created_at: number;
}

/** `reply_attachments`: files a task's reply carries out, in order (migration 0019). */
export interface ReplyAttachmentsTable {
  task_id: string;
  attachment_id: string;
  position: number;
  /** ms since the epoch. */
  created_at: number;
}

export interface Database {
  approvals: ApprovalsTable;
  turn_checkpoints: TurnCheckpointsTable;
  attachments: AttachmentsTable;
  reply_attachments: ReplyAttachmentsTable;
  ui_sessions: UiSessionsTable;
  bots: BotsTable;
  sessions: SessionsTable;
  channels: ChannelsTable;
  messages: MessagesTable;
  tasks: TasksTable;
  tool_calls: ToolCallsTable;
  model_calls: ModelCallsTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  api_keys: ApiKeysTable;
  integration_settings: IntegrationSettingsTable;
  skills: SkillsTable;
  documents: DocumentsTable;
  document_chunks: DocumentChunksTable;
  document_index_state: DocumentIndexStateTable;
  inbound_receipts: InboundReceiptsTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  notifications: NotificationsTable;
  integrations_state: IntegrationsStateTable;
  integration_kv: IntegrationKvTable;
  leases: LeasesTable;
  instances: InstancesTable;
  jobs: JobsTable;
  job_runs: JobRunsTable;
  token_usage: TokenUsageTable;
}
