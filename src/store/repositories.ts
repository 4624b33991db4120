/**
 * The repositories over one database handle, one per table group: the set `Store`
 * holds over the database and `Store.transaction` hands bound to one transaction
 * (./index.ts). Each is built on first use with what it needs from the store's shared
 * parts (the dialect, the secret key, the bot cache, the clock, SQLite's direct path).
 */
import type { Kysely } from "kysely";
import { ApiKeyRepository } from "./api-keys.ts";
import { ApprovalRepository } from "./approvals.ts";
import { AttachmentRepository } from "./attachments.ts";
import { type BotCache, type BotReads, BotRepository } from "./bots.ts";
import { ChannelRepository } from "./channels.ts";
import type { QueryHandle } from "./compiled.ts";
import type { Dialect } from "./db.ts";
import { DeliveryRepository } from "./deliveries.ts";
import { DeliveryAttemptRepository } from "./delivery-attempts.ts";
import { DocumentSearchRepository } from "./document-search.ts";
import { DocumentRepository } from "./documents.ts";
import { ReceiptRepository } from "./inbound-receipts.ts";
import { InstanceRepository } from "./instances.ts";
import { IntegrationKvRepository } from "./integration-kv.ts";
import { IntegrationSettingsRepository } from "./integration-settings.ts";
import { StateDocRepository } from "./integrations-state.ts";
import { JobRunRepository } from "./job-runs.ts";
import { JobRepository } from "./jobs.ts";
import { LeaseRepository } from "./leases.ts";
import { MessageRepository } from "./messages.ts";
import { ModelCallRepository } from "./model-calls.ts";
import { NotificationRepository } from "./notifications.ts";
import type { Database } from "./schema.ts";
import { SessionRepository } from "./sessions.ts";
import { SkillRepository } from "./skills.ts";
import type { SqliteDirect } from "./sqlite-driver.ts";
import { TaskLeaseRepository } from "./task-leases.ts";
import { TaskRepository } from "./tasks.ts";
import { TokenUsageRepository } from "./token-usage.ts";
import { ToolCallRepository } from "./tool-calls.ts";
import { UiSessionRepository } from "./ui-sessions.ts";
import { VectorRepository } from "./vectors.ts";
import { WebhookSubscriptionRepository } from "./webhook-subscriptions.ts";

/**
 * What the repositories of one store share, whichever handle they run on: built once per
 * store, never per transaction.
 */
export interface RepositoryShared {
  dialect: Dialect;
  /** `SWITCHYARD_SECRET_KEY`: stored secrets are encrypted with it when set. */
  secretKey: string | undefined;
  bots: BotCache;
  /** The instance clock repositories stamp rows with (tests skew it); default the real one. */
  clock: (() => number) | undefined;
  /** SQLite: statements run at once on the connection (./sqlite-driver.ts). */
  direct: SqliteDirect | undefined;
}

/**
 * The repositories over one database handle: the database (`Store`) or one
 * transaction (what `Store.transaction` passes). A service that writes inside a
 * caller's transaction takes this type. Each repository is made on first use, so a
 * transaction only builds the few it touches.
 */
export class Repositories {
  readonly #db: Kysely<Database>;
  readonly #shared: RepositoryShared;
  #bots: BotRepository | undefined;
  #sessions: SessionRepository | undefined;
  #apiKeys: ApiKeyRepository | undefined;
  #messages: MessageRepository | undefined;
  #tasks: TaskRepository | undefined;
  #taskLeases: TaskLeaseRepository | undefined;
  #uiSessions: UiSessionRepository | undefined;
  #toolCalls: ToolCallRepository | undefined;
  #deliveries: DeliveryRepository | undefined;
  #deliveryAttempts: DeliveryAttemptRepository | undefined;
  #notifications: NotificationRepository | undefined;
  #receipts: ReceiptRepository | undefined;
  #channels: ChannelRepository | undefined;
  #stateDocs: StateDocRepository | undefined;
  #webhookSubscriptions: WebhookSubscriptionRepository | undefined;
  #integrationSettings: IntegrationSettingsRepository | undefined;
  #integrationKv: IntegrationKvRepository | undefined;
  #leases: LeaseRepository | undefined;
  #instances: InstanceRepository | undefined;
  #skills: SkillRepository | undefined;
  #documents: DocumentRepository | undefined;
  #documentSearch: DocumentSearchRepository | undefined;
  #vectors: VectorRepository | undefined;
  #jobs: JobRepository | undefined;
  #jobRuns: JobRunRepository | undefined;
  #approvals: ApprovalRepository | undefined;
  #attachments: AttachmentRepository | undefined;
  #tokenUsage: TokenUsageRepository | undefined;
  #modelCalls: ModelCallRepository | undefined;
  #queryHandle: QueryHandle | undefined;

  protected constructor(db: Kysely<Database>, shared: RepositoryShared) {
    this.#db = db;
    this.#shared = shared;
  }

  /** The SQL dialect of the database. */
  get dialect(): Dialect {
    return this.#shared.dialect;
  }

  /** Bots (agent configurations), read through the store's cache. */
  get bots(): BotRepository {
    this.#bots ??= new BotRepository(this.#db, this.botReads(this.#shared.bots));
    return this.#bots;
  }

  /** Channels: outside conversations bound to a bot. */
  get channels(): ChannelRepository {
    this.#channels ??= new ChannelRepository(this.queryHandle());
    return this.#channels;
  }

  /** Sessions: get-or-create, end. */
  get sessions(): SessionRepository {
    this.#sessions ??= new SessionRepository(this.queryHandle());
    return this.#sessions;
  }

  /** API keys (hashes only). */
  get apiKeys(): ApiKeyRepository {
    this.#apiKeys ??= new ApiKeyRepository(this.#db);
    return this.#apiKeys;
  }

  /** Admin UI sign-in sessions (hashes of the cookie ids only). */
  get uiSessions(): UiSessionRepository {
    this.#uiSessions ??= new UiSessionRepository(this.#db);
    return this.#uiSessions;
  }

  /** Messages of sessions. */
  get messages(): MessageRepository {
    this.#messages ??= new MessageRepository(this.queryHandle(), this.#shared.clock);
    return this.#messages;
  }

  /** Tasks: the queue (inserts, listings, final states). */
  get tasks(): TaskRepository {
    this.#tasks ??= new TaskRepository(this.#db);
    return this.#tasks;
  }

  /** Leases on tasks: claims, renewal, release, expiry (`task-leases.ts`). */
  get taskLeases(): TaskLeaseRepository {
    this.#taskLeases ??= new TaskLeaseRepository(this.#db, this.#shared.dialect);
    return this.#taskLeases;
  }

  /** Tool calls made inside tasks. */
  get toolCalls(): ToolCallRepository {
    this.#toolCalls ??= new ToolCallRepository(this.#db);
    return this.#toolCalls;
  }

  /** The delivery outbox: one row per outbound send. */
  get deliveries(): DeliveryRepository {
    this.#deliveries ??= new DeliveryRepository(this.#db, this.#shared.dialect);
    return this.#deliveries;
  }

  /** One row per outbox attempt (written with the outcome by `deliveries.recordAttempts`). */
  get deliveryAttempts(): DeliveryAttemptRepository {
    this.#deliveryAttempts ??= new DeliveryAttemptRepository(this.#db);
    return this.#deliveryAttempts;
  }

  /** The notification history. */
  get notifications(): NotificationRepository {
    this.#notifications ??= new NotificationRepository(this.#db);
    return this.#notifications;
  }

  /** Inbound receipts: provider delivery ids already accepted (`inbound-receipts.ts`). */
  get receipts(): ReceiptRepository {
    this.#receipts ??= new ReceiptRepository(this.queryHandle());
    return this.#receipts;
  }

  /** Settings documents, written compare-and-set (`integrations-state.ts`). */
  get stateDocs(): StateDocRepository {
    this.#stateDocs ??= new StateDocRepository(this.#db);
    return this.#stateDocs;
  }

  /** Outbound webhook subscriptions (secrets encrypted at rest with the secret key). */
  get webhookSubscriptions(): WebhookSubscriptionRepository {
    this.#webhookSubscriptions ??= new WebhookSubscriptionRepository(
      this.#db,
      this.#shared.secretKey,
    );
    return this.#webhookSubscriptions;
  }

  /** Integration settings set through the admin API (encrypted with the secret key). */
  get integrationSettings(): IntegrationSettingsRepository {
    this.#integrationSettings ??= new IntegrationSettingsRepository(
      this.#db,
      this.#shared.secretKey,
    );
    return this.#integrationSettings;
  }

  /** Each integration's small key → JSON value store (`ctx.state`). */
  get integrationKv(): IntegrationKvRepository {
    this.#integrationKv ??= new IntegrationKvRepository(this.#db);
    return this.#integrationKv;
  }

  /** Named leases: at most one holder at a time (`ctx.exclusive`). */
  get leases(): LeaseRepository {
    this.#leases ??= new LeaseRepository(this.#db);
    return this.#leases;
  }

  /** Running servers' heartbeats (`GET /api/v1/admin/instances`). */
  get instances(): InstanceRepository {
    this.#instances ??= new InstanceRepository(this.#db);
    return this.#instances;
  }

  /** Skills synced from integration folders. */
  get skills(): SkillRepository {
    this.#skills ??= new SkillRepository(this.#db);
    return this.#skills;
  }

  /** Documents and their chunks. */
  get documents(): DocumentRepository {
    this.#documents ??= new DocumentRepository(this.#db, this.#shared.dialect);
    return this.#documents;
  }

  /** The queries of lexical document search (FTS5 on SQLite, `ts_rank_cd` on PostgreSQL). */
  get documentSearch(): DocumentSearchRepository {
    this.#documentSearch ??= new DocumentSearchRepository(this.#db);
    return this.#documentSearch;
  }

  /** Chunk embeddings: pgvector, and the exact engine's loading queries. */
  get vectors(): VectorRepository {
    this.#vectors ??= new VectorRepository(this.#db);
    return this.#vectors;
  }

  /** Scheduled jobs (`jobs.ts`). */
  get jobs(): JobRepository {
    this.#jobs ??= new JobRepository(this.#db);
    return this.#jobs;
  }

  /** Job runs: one row per firing, unique per (job, slot) (`job-runs.ts`). */
  get jobRuns(): JobRunRepository {
    this.#jobRuns ??= new JobRunRepository(this.#db);
    return this.#jobRuns;
  }

  /** Tool approvals and parked turns (`approvals.ts`). */
  get approvals(): ApprovalRepository {
    this.#approvals ??= new ApprovalRepository(this.#db, this.#shared.dialect);
    return this.#approvals;
  }

  /** Attachment rows (scope-checked reads) and the files replies carry (`attachments.ts`). */
  get attachments(): AttachmentRepository {
    this.#attachments ??= new AttachmentRepository(this.#db);
    return this.#attachments;
  }

  /** Model calls of tasks, one per agent-loop step (`model-calls.ts`). */
  get modelCalls(): ModelCallRepository {
    this.#modelCalls ??= new ModelCallRepository(this.#db);
    return this.#modelCalls;
  }

  /** Tokens used per task and per (UTC day, bot, session) (`token-usage.ts`). */
  get tokenUsage(): TokenUsageRepository {
    this.#tokenUsage ??= new TokenUsageRepository(this.#db);
    return this.#tokenUsage;
  }

  /** The handle compiled queries run on (./compiled.ts); a transaction overrides it. */
  protected queryHandle(): QueryHandle {
    this.#queryHandle ??= {
      kysely: this.#db,
      dialect: this.#shared.dialect,
      ...(this.#shared.direct ? { direct: this.#shared.direct.whenFree } : {}),
    };
    return this.#queryHandle;
  }

  /** How bot reads use the cache over this handle (a transaction overrides it). */
  protected botReads(cache: BotCache): BotReads {
    return cache;
  }
}
