/**
 * Schema migrations, in code, run at start by Kysely's Migrator. The same definitions
 * serve SQLite and PostgreSQL: times are `bigint` milliseconds, JSON is `text`.
 * Never edit a released migration; add a new one.
 */
import {
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresAdapter,
  sql,
} from "kysely";

const migrations: Record<string, Migration> = {
  "0001_core": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("bots")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("system_prompt", "text", (c) => c.notNull())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("tools", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("skills", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("fallback_models", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("display_name", "text")
        .addColumn("avatar_url", "text")
        .addColumn("integration_config", "text", (c) => c.notNull().defaultTo("{}"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("sessions")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("bot_id", "text", (c) => c.notNull())
        .addColumn("client_id", "text", (c) => c.notNull())
        .addColumn("dispatch_config", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addUniqueConstraint("sessions_bot_client", ["bot_id", "client_id"])
        .execute();

      await db.schema
        .createTable("channels")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("client_id", "text", (c) => c.notNull().unique())
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("bot_id", "text", (c) => c.notNull())
        .addColumn("active_session_id", "text")
        .addColumn("require_mention", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("passive_memory", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("dispatch_config", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("messages")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("session_id", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("content", "text", (c) => c.notNull())
        .addColumn("metadata", "text", (c) => c.notNull().defaultTo("{}"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("messages_session")
        .on("messages")
        .columns(["session_id", "id"])
        .execute();

      await db.schema
        .createTable("tasks")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("session_id", "text", (c) => c.notNull())
        .addColumn("bot_id", "text", (c) => c.notNull())
        .addColumn("message_id", "text")
        .addColumn("prompt", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("result", "text")
        .addColumn("error", "text")
        .addColumn("dispatch_type", "text", (c) => c.notNull())
        .addColumn("dispatch_config", "text")
        .addColumn("execution_config", "text")
        .addColumn("callback_config", "text")
        .addColumn("max_run_seconds", "integer")
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("max_attempts", "integer", (c) => c.notNull().defaultTo(3))
        .addColumn("lease_owner", "text")
        .addColumn("lease_expires_at", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("run_at", "bigint", (c) => c.notNull())
        .addColumn("started_at", "bigint")
        .addColumn("completed_at", "bigint")
        .execute();
      await db.schema
        .createIndex("tasks_status_session")
        .on("tasks")
        .columns(["status", "session_id", "id"])
        .execute();
      await db.schema
        .createIndex("tasks_session")
        .on("tasks")
        .columns(["session_id", "id"])
        .execute();

      await db.schema
        .createTable("tool_calls")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("task_id", "text", (c) => c.notNull())
        .addColumn("session_id", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("args", "text", (c) => c.notNull())
        .addColumn("result", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("duration_ms", "integer", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("tool_calls_task").on("tool_calls").column("task_id").execute();

      await db.schema
        .createTable("deliveries")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("task_id", "text")
        .addColumn("target_type", "text", (c) => c.notNull())
        .addColumn("target", "text", (c) => c.notNull())
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
        .addColumn("lease_owner", "text")
        .addColumn("lease_expires_at", "bigint")
        .addColumn("last_status", "integer")
        .addColumn("last_error", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addColumn("delivered_at", "bigint")
        .execute();
      await db.schema
        .createIndex("deliveries_due")
        .on("deliveries")
        .columns(["status", "next_attempt_at"])
        .execute();
      await db.schema.createIndex("deliveries_task").on("deliveries").column("task_id").execute();

      await db.schema
        .createTable("api_keys")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("key_hash", "text", (c) => c.notNull().unique())
        .addColumn("scopes", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("last_used_at", "bigint")
        .addColumn("revoked_at", "bigint")
        .execute();
    },
  },
  "0002_integration_settings": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("integration_settings")
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("encrypted", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("integration_settings_pk", ["integration", "key"])
        .execute();
    },
  },
  "0003_documents": {
    async up(db: Kysely<any>) {
      const pg = db.getExecutor().adapter instanceof PostgresAdapter;
      await db.schema
        .createTable("documents")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("title", "text")
        .addColumn("content", "text", (c) => c.notNull())
        .addColumn("integration_id", "text")
        .addColumn("session_id", "text")
        .addColumn("metadata", "text", (c) => c.notNull().defaultTo("{}"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      // Chunks carry their document's filters, so a search never joins documents to filter.
      await db.schema
        .createTable("document_chunks")
        .addColumn("id", pg ? "bigserial" : "integer", (c) =>
          pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn("document_id", "text", (c) =>
          c.notNull().references("documents.id").onDelete("cascade"),
        )
        .addColumn("ordinal", "integer", (c) => c.notNull())
        .addColumn("content", "text", (c) => c.notNull())
        .addColumn("integration_id", "text")
        .addColumn("session_id", "text")
        .addColumn("embedding_model", "text")
        .addColumn("embedding", pg ? "bytea" : "blob")
        .execute();
      await db.schema
        .createIndex("document_chunks_document")
        .on("document_chunks")
        .columns(["document_id", "ordinal"])
        .execute();
      await db.schema
        .createIndex("document_chunks_embedding")
        .on("document_chunks")
        .columns(["embedding_model", "id"])
        .where(sql.ref("embedding"), "is not", null)
        .execute();
      // Bumped by every document write, so a process can tell cheaply whether its copy of
      // the vectors is current.
      await db.schema
        .createTable("document_index_state")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("generation", "bigint", (c) => c.notNull())
        .execute();
      await db.insertInto("document_index_state").values({ id: 1, generation: 0 }).execute();
      if (pg) {
        // Title (weight A) and chunk text (weight B), English stemming and stop words.
        await sql`ALTER TABLE document_chunks ADD COLUMN tsv tsvector NOT NULL`.execute(db);
        await sql`CREATE INDEX document_chunks_tsv ON document_chunks USING gin (tsv)`.execute(db);
        return;
      }
      // FTS5 keeps only the index (contentless); the text stays in document_chunks.
      await sql`CREATE VIRTUAL TABLE document_chunks_fts USING fts5(title, content, content='', contentless_delete=1, tokenize='porter unicode61 remove_diacritics 2')`.execute(
        db,
      );
      await sql`CREATE VIRTUAL TABLE document_chunks_fts_terms USING fts5vocab(document_chunks_fts, 'row')`.execute(
        db,
      );
      await sql`CREATE TRIGGER document_chunks_fts_insert AFTER INSERT ON document_chunks BEGIN
        INSERT INTO document_chunks_fts(rowid, title, content) VALUES (new.id,
          coalesce((SELECT title FROM documents WHERE id = new.document_id), ''), new.content);
      END`.execute(db);
      await sql`CREATE TRIGGER document_chunks_fts_delete AFTER DELETE ON document_chunks BEGIN
        DELETE FROM document_chunks_fts WHERE rowid = old.id;
      END`.execute(db);
    },
  },
  "0004_skills": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("skills")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("content", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("content_hash", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("skills_integration")
        .on("skills")
        .column("integration")
        .execute();
      // What a run could not honour (unknown skills or tools…): a JSON array of strings.
      await db.schema.alterTable("tasks").addColumn("warnings", "text").execute();
    },
  },
  "0005_inbound_receipts": {
    async up(db: Kysely<any>) {
      // Provider delivery ids already accepted (a webhook delivery header, an event or update id),
      // written in the same transaction as the message they produced.
      await db.schema
        .createTable("inbound_receipts")
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("message_id", "text")
        .addColumn("task_id", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("inbound_receipts_pk", ["source", "key"])
        .execute();
      await db.schema
        .createIndex("inbound_receipts_created")
        .on("inbound_receipts")
        .column("created_at")
        .execute();
    },
  },
  "0006_outbound_events": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("webhook_subscriptions")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("url", "text", (c) => c.notNull().unique())
        .addColumn("events", "text", (c) => c.notNull().defaultTo("[]"))
        .addColumn("secret", "text")
        .addColumn("secret_encrypted", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("disabled_at", "bigint")
        .addColumn("disabled_reason", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("notifications")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("channel", "text", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("priority", "text", (c) => c.notNull())
        .addColumn("delivered", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("delivery_id", "text")
        .addColumn("meta", "text", (c) => c.notNull().defaultTo("{}"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      // Small named settings documents (git_auto_commit…), each a JSON value.
      await db.schema
        .createTable("integrations_state")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("version", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      // Ended by POST /sessions/{id}/end (emits session.end); null while open.
      await db.schema.alterTable("sessions").addColumn("ended_at", "bigint").execute();
      // Event deliveries name their subscription, for filtering and for disabling on 410.
      await db.schema.alterTable("deliveries").addColumn("subscription_id", "text").execute();
      await db.schema
        .createIndex("deliveries_subscription")
        .on("deliveries")
        .columns(["subscription_id", "id"])
        .execute();
    },
  },
  "0007_bots_managed_by": {
    async up(db: Kysely<any>) {
      // Who owns a bot: "env" (the `default` bot, created from SWITCHYARD_MODEL, follows the
      // environment at every start) or "api" (created or edited through the admin API).
      await db.schema
        .alterTable("bots")
        .addColumn("managed_by", "text", (c) => c.notNull().defaultTo("api"))
        .execute();
      // A default bot never written since its creation still holds what the environment gave it.
      await db
        .updateTable("bots")
        .set({ managed_by: "env" })
        .where("id", "=", "default")
        .whereRef("updated_at", "=", "created_at")
        .execute();
    },
  },
  "0008_receipts_fingerprint": {
    async up(db: Kysely<any>) {
      // A digest of the request that used the key (Idempotency-Key): a repeat with the same
      // key and another body is refused instead of answered with the first one's ids.
      await db.schema.alterTable("inbound_receipts").addColumn("fingerprint", "text").execute();
    },
  },
  "0009_delivery_destination": {
    async up(db) {
      // The receiver a delivery goes to (lib/destination.ts): the outbox claims fairly
      // across destinations and caps each one's sends in flight. Older rows get their
      // target type (one destination per sender), good enough for a backlog.
      await db.schema
        .alterTable("deliveries")
        .addColumn("destination", "text", (c) => c.notNull().defaultTo(""))
        .execute();
      await db.updateTable("deliveries").set({ destination: sql`target_type` }).execute();
      await db.schema
        .createIndex("deliveries_destination")
        .on("deliveries")
        .columns(["destination", "next_attempt_at"])
        .execute();
    },
  },
  // GET /api/v1/sessions and /tasks page newest first by (created_at, id).
  "0010_list_order": {
    async up(db: Kysely<any>) {
      await db.schema
        .createIndex("sessions_created")
        .on("sessions")
        .columns(["created_at", "id"])
        .execute();
      await db.schema
        .createIndex("tasks_created")
        .on("tasks")
        .columns(["created_at", "id"])
        .execute();
    },
  },
  // Channels (DESIGN §3): which bot answers an outside conversation, whether it needs a
  // mention, whether unmentioned messages are kept. The table of 0001 was never written
  // (nothing used it), so it is recreated in its final shape: require_mention may be null
  // (the conversation's kind decides), and (integration, team, channel) identify it.
  "0011_channels": {
    async up(db: Kysely<any>) {
      await db.schema.dropTable("channels").ifExists().execute();
      await db.schema
        .createTable("channels")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("client_id", "text", (c) => c.notNull().unique())
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("team", "text")
        .addColumn("channel", "text", (c) => c.notNull())
        .addColumn("bot_id", "text", (c) => c.notNull())
        .addColumn("active_session_id", "text")
        .addColumn("require_mention", "integer")
        .addColumn("passive_memory", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("channels_created")
        .on("channels")
        .columns(["created_at", "id"])
        .execute();
    },
  },
  // ctx.state: a small key → JSON value store per integration (a chat adapter's polling
  // offset). Named apart from `integrations_state` (core's settings documents).
  "0012_integration_state": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("integration_kv")
        .addColumn("integration", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("integration_kv_pk", ["integration", "key"])
        .execute();
    },
  },
  // Named leases (ctx.exclusive; singleton processes later): one row per name, taken
  // atomically when free, expired or already the caller's.
  "0013_leases": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("leases")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("holder", "text", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("acquired_at", "bigint", (c) => c.notNull())
        .execute();
    },
  },
  // Admin UI sign-in sessions (issue 15): the cookie holds a random id, the table only its
  // SHA-256; the session belongs to an API key and dies with it (checked on every lookup).
  "0014_ui_sessions": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("ui_sessions")
        .addColumn("id_hash", "text", (c) => c.primaryKey())
        .addColumn("key_id", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("ui_sessions_expires")
        .on("ui_sessions")
        .column("expires_at")
        .execute();
    },
  },
  // Scheduled jobs and their runs (docs/jobs.md). A job's `next_run_at` is claimed by
  // compare-and-set, and a run is UNIQUE per (job_id, scheduled_for), so a slot fires once
  // across instances. Jobs an integration's jobs.ts declares are keyed by (integration, name).
  "0015_jobs": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("jobs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("schedule", "text", (c) => c.notNull())
        .addColumn("target", "text", (c) => c.notNull())
        .addColumn("prompt", "text", (c) => c.notNull())
        .addColumn("execution_config", "text")
        .addColumn("dispatch_config", "text")
        .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("missed", "text", (c) => c.notNull().defaultTo("run_once"))
        .addColumn("overlap", "text", (c) => c.notNull().defaultTo("skip"))
        .addColumn("next_run_at", "bigint")
        .addColumn("integration", "text")
        .addColumn("definition_hash", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("jobs_integration_name")
        .on("jobs")
        .columns(["integration", "name"])
        .unique()
        .execute();
      await db.schema.createIndex("jobs_due").on("jobs").columns(["next_run_at"]).execute();
      await db.schema
        .createTable("job_runs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("job_id", "text", (c) => c.notNull())
        .addColumn("scheduled_for", "bigint", (c) => c.notNull())
        .addColumn("covers", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("manual", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("reason", "text")
        .addColumn("session_id", "text")
        .addColumn("task_id", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addUniqueConstraint("job_runs_slot", ["job_id", "scheduled_for"])
        .execute();
      await db.schema.createIndex("job_runs_task").on("job_runs").columns(["task_id"]).execute();
    },
  },
  // Running servers (issue 14, several instances on one database): each writes its row
  // every few seconds; `GET /api/v1/admin/instances` lists those heard from recently.
  "0016_instances": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("instances")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("hostname", "text", (c) => c.notNull())
        .addColumn("started_at", "bigint", (c) => c.notNull())
        .addColumn("last_heartbeat_at", "bigint", (c) => c.notNull())
        .execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the schema up to date.
 * @throws Error naming the failed migration and the database's reason.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: "switchyard_migrations",
    // Migrations are numbered per feature and may land out of order (0004 before 0003);
    // a database that already ran a later one still gets the earlier one.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    const what = failed
      ? `Database migration ${failed.migrationName} failed`
      : "Database unavailable";
    throw new Error(`${what}: ${(error as Error).message ?? error}`);
  }
}
