/**
 * Migration `0019_attachments` (issue 13, attachments).
 * - `attachments`: one row per stored file (its bytes live in the attachment store: a
 *   folder under the data dir or an S3-compatible bucket), owned by one scope
 *   (`scope_kind` + `scope_id`); an id is only ever looked up together with its scope.
 * - `reply_attachments`: files a task's reply carries out (a tool attached them), in order;
 *   the adapter sender uploads them after the reply's text.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("attachments")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("scope_kind", "text", (c) => c.notNull())
      .addColumn("scope_id", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("media_type", "text", (c) => c.notNull())
      .addColumn("size", "bigint", (c) => c.notNull())
      .addColumn("sha256", "text", (c) => c.notNull())
      .addColumn("storage_key", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("attachments_scope")
      .on("attachments")
      .columns(["scope_kind", "scope_id"])
      .execute();
    await db.schema
      .createTable("reply_attachments")
      .addColumn("task_id", "text", (c) => c.notNull())
      .addColumn("attachment_id", "text", (c) => c.notNull())
      .addColumn("position", "integer", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("reply_attachments_pk", ["task_id", "attachment_id"])
      .execute();
  },
};
