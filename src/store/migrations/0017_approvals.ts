/**
 * Migration `0017_approvals`.
 * Durable tool approvals (issue 13, DESIGN §3 "approval", §7 "Approvals"): one row per tool
 * call waiting for a person; the parked turn's messages in `turn_checkpoints` (nothing
 * waits in memory); the bots' `approval` policy (JSON, NULL = never ask). A parked task has
 * status `waiting_approval` (the status column is free text: no schema change there).
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("approvals")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("task_id", "text", (c) => c.notNull())
      .addColumn("session_id", "text", (c) => c.notNull())
      .addColumn("bot_id", "text", (c) => c.notNull())
      .addColumn("tool", "text", (c) => c.notNull())
      .addColumn("tool_call_id", "text", (c) => c.notNull())
      // The AI SDK's approval id (`tool-approval-request.approvalId`) the turn resumes with.
      .addColumn("sdk_approval_id", "text", (c) => c.notNull())
      .addColumn("args", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("requested_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("decided_by", "text")
      .addColumn("decided_at", "bigint")
      .addColumn("reason", "text")
      // The adapter's post id of the request message (what `send` returned).
      .addColumn("request_post", "text")
      // Set when an approved call started running: it never runs a second time.
      .addColumn("executed_at", "bigint")
      .execute();
    await db.schema
      .createIndex("approvals_status_expires")
      .on("approvals")
      .columns(["status", "expires_at"])
      .execute();
    await db.schema.createIndex("approvals_task").on("approvals").column("task_id").execute();
    await db.schema.createIndex("approvals_session").on("approvals").column("session_id").execute();
    await db.schema
      .createTable("turn_checkpoints")
      .addColumn("task_id", "text", (c) => c.primaryKey())
      // JSON array of the AI SDK's ModelMessages: the turn so far, ending with the
      // assistant message that holds the `tool-approval-request` parts.
      .addColumn("messages", "text", (c) => c.notNull())
      .addColumn("model", "text", (c) => c.notNull())
      .addColumn("steps", "integer", (c) => c.notNull())
      .addColumn("tool_calls", "integer", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.alterTable("bots").addColumn("approval", "text").execute();
  },
};
