/**
 * The store: one open database and one repository per table group (DESIGN §2 `store/`).
 * Every repository is a class in its own module, built over a database handle (the
 * database, or one transaction of it) and whatever else it needs (the dialect, the secret
 * key, a shared cache). {@link Store} holds one of each over the database;
 * {@link Store.transaction} hands the same set bound to one transaction:
 *
 *   await store.transaction(async (tx) => {
 *     const m = await tx.messages.insert(…);
 *     await tx.tasks.insert({ messageId: m.id, … });
 *   });
 *
 * Nothing outside `store/` names Kysely or writes SQL.
 */
import type { Kysely, Transaction } from "kysely";
import { ApiKeyRepository } from "./api-keys.ts";
import { ApprovalRepository } from "./approvals.ts";
import { AttachmentRepository } from "./attachments.ts";
import { BotCache, type BotReads, BotRepository, type TransactionBotReads } from "./bots.ts";
import { ChannelRepository } from "./channels.ts";
import type { QueryHandle } from "./compiled.ts";
import { type Db, type Dialect, openDatabase } from "./db.ts";
import { DeliveryRepository } from "./deliveries.ts";
import { DeliveryAttemptRepository } from "./delivery-attempts.ts";
import { DocumentSearchRepository } from "./document-search.ts";
import { DocumentRepository } from "./documents.ts";
import { GroupCommit, type GroupCommitStats } from "./group-commit.ts";
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
import { openWakeChannel, type WakeChannel, type WakeChannelOptions } from "./wake-channel.ts";
import { WebhookSubscriptionRepository } from "./webhook-subscriptions.ts";

/**
 * What the repositories of one store share, whichever handle they run on: built once per
 * store, never per transaction.
 */
interface Shared {
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
 * The repositories over one database handle: the database ({@link Store}) or one
 * transaction (what {@link Store.transaction} passes). A service that writes inside a
 * caller's transaction takes this type. Each repository is made on first use, so a
 * transaction only builds the few it touches.
 */
export class Repositories {
  readonly #db: Kysely<Database>;
  readonly #shared: Shared;
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

  protected constructor(db: Kysely<Database>, shared: Shared) {
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

/** Group-commit batches in flight at once on PostgreSQL (SQLite: 1, writers are serial). */
const GROUP_COMMIT_PG_IN_FLIGHT = 2;

/** Options of a {@link Store}. */
export interface StoreOptions {
  /** `SWITCHYARD_SECRET_KEY`: stored secrets are encrypted at rest when given. */
  secretKey?: string;
  /**
   * This instance's clock (ms since epoch) for message times and ids; default `Date.now`.
   * Tests skew it to play instances whose clocks disagree; order never depends on it.
   */
  clock?: () => number;
}

/** One open database and its repositories. */
export class Store extends Repositories {
  /**
   * The open database. Its Kysely instance is for `store/` itself and for tests that
   * arrange or inspect raw rows; services use the repositories.
   */
  readonly db: Db;
  readonly #shared: Shared;
  readonly #group: GroupCommit;

  constructor(db: Db, opts: StoreOptions = {}) {
    const shared: Shared = {
      dialect: db.dialect,
      secretKey: opts.secretKey,
      bots: new BotCache(),
      clock: opts.clock,
      direct: db.sqliteDirect,
    };
    super(db.kysely, shared);
    this.db = db;
    this.#shared = shared;
    this.#group = new GroupCommit((fn) => this.transaction(fn), {
      maxInFlight: db.dialect === "postgres" ? GROUP_COMMIT_PG_IN_FLIGHT : 1,
      ...(db.dialect === "postgres" ? { retryAlone: isDeadlock } : {}),
    });
  }

  /**
   * Runs `fn` in one transaction with the repositories bound to it; commits when `fn`
   * resolves, rolls back when it throws (and rethrows). Writes that must be part of it go
   * through `tx`, not through the store.
   */
  async transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T> {
    let tx: TransactionRepositories | undefined;
    try {
      const out = await this.db.kysely.transaction().execute((trx) => {
        tx = new TransactionRepositories(trx, this.#shared);
        return fn(tx);
      });
      tx?.committed();
      return out;
    } finally {
      tx?.ended();
    }
  }

  /**
   * Like {@link transaction}, but shared with the other calls queued in the same
   * event-loop turn (group commit, ./group-commit.ts): resolves once that transaction
   * committed; `fn` must write only through `tx` and may run twice (alone, after a
   * neighbour failed). For small hot writes (inbound messages).
   */
  groupTransaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T> {
    return this.#group.run(fn);
  }

  /** How group commit has batched so far (tests, benchmarks). */
  get groupCommitStats(): GroupCommitStats {
    return this.#group.stats;
  }

  /** Opens a database by URL (running migrations) and wraps it. */
  static async open(
    url: string,
    opts: Parameters<typeof openDatabase>[1] & StoreOptions = {},
  ): Promise<Store> {
    return new Store(await openDatabase(url, opts), opts);
  }

  /** Answers when the database does (a one-row read); throws when it is unreachable. */
  async ping(): Promise<void> {
    await this.db.kysely.selectFrom("bots").select("id").limit(1).execute();
  }

  /**
   * The wake-up channel between instances on this database (`LISTEN`/`NOTIFY` on
   * PostgreSQL, a local no-op on SQLite); one per instance, started by its owner.
   */
  wakeChannel(opts?: WakeChannelOptions): WakeChannel {
    return openWakeChannel(this.db, opts);
  }

  /** Closes the database. */
  close(): Promise<void> {
    return this.db.close();
  }
}

/** PostgreSQL's "deadlock detected" (SQLSTATE 40P01): only that transaction was aborted. */
function isDeadlock(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "40P01";
}

/** The repositories of one transaction. */
class TransactionRepositories extends Repositories {
  #botReads: TransactionBotReads | undefined;
  readonly #trx: Transaction<Database>;
  readonly #shared: Shared;
  #open = true;
  #handle: QueryHandle | undefined;

  constructor(trx: Transaction<Database>, shared: Shared) {
    super(trx, shared);
    this.#trx = trx;
    this.#shared = shared;
  }

  /** Compiled queries run directly on SQLite while this transaction holds the connection. */
  protected override queryHandle(): QueryHandle {
    const direct = this.#shared.direct;
    this.#handle ??= {
      kysely: this.#trx,
      dialect: this.#shared.dialect,
      ...(direct
        ? {
            direct: (sql: string, p: readonly unknown[]) =>
              this.#open ? direct.held(sql, p) : undefined,
          }
        : {}),
    };
    return this.#handle;
  }

  /** Called when the transaction committed or rolled back: no more direct statements. */
  ended(): void {
    this.#open = false;
  }

  protected override botReads(cache: BotCache): BotReads {
    this.#botReads ??= cache.forTransaction();
    return this.#botReads;
  }

  /** Called once the transaction committed: caches drop what it wrote. */
  committed(): void {
    this.#botReads?.committed();
  }
}
