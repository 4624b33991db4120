/**
 * Row types of every table, as Kysely sees them, and the {@link Database} that names them.
 * Times are milliseconds since the epoch (integers); JSON values are stored as text and
 * parsed by the repositories. The row types live in one file per group of tables
 * (the `*-tables.ts` files beside it) and are all re-exported here.
 */
import type { ApprovalsTable, TurnCheckpointsTable } from "./approval-tables.ts";
import type { AttachmentsTable, ReplyAttachmentsTable } from "./attachment-tables.ts";
import type {
  BotsTable,
  ChannelsTable,
  MessagesTable,
  ModelCallsTable,
  SessionsTable,
  TasksTable,
  TokenUsageTable,
  ToolCallsTable,
} from "./conversation-tables.ts";
import type {
  DocumentChunksTable,
  DocumentIndexStateTable,
  DocumentsTable,
} from "./document-tables.ts";
import type {
  IntegrationKvTable,
  IntegrationSettingsTable,
  IntegrationsStateTable,
  SkillsTable,
} from "./integration-tables.ts";
import type { JobRunsTable, JobsTable } from "./job-tables.ts";
import type {
  DeliveriesTable,
  DeliveryAttemptsTable,
  InboundReceiptsTable,
  NotificationsTable,
  WebhookSubscriptionsTable,
} from "./outbox-tables.ts";
import type {
  ApiKeysTable,
  InstancesTable,
  LeasesTable,
  UiSessionsTable,
} from "./server-tables.ts";

export type * from "./approval-tables.ts";
export type * from "./attachment-tables.ts";
export type * from "./conversation-tables.ts";
export type * from "./document-tables.ts";
export type * from "./integration-tables.ts";
export type * from "./job-tables.ts";
export type * from "./outbox-tables.ts";
export type * from "./server-tables.ts";

/** The whole database, for `Kysely<Database>`. */
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
