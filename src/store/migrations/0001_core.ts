/**
 * Migration `0001_core`.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
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
};
