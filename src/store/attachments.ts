/**
 * Attachment metadata (`attachments`) and the files a reply carries (`reply_attachments`).
 * The bytes live in the attachment store (`src/attachments/`); these rows say which scope
 * owns each id. Every read of one attachment names its scope: an id from another scope
 * reads as absent. Times are ms since the epoch.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

/** One attachment row. */
export interface AttachmentRow {
  id: string;
  scopeKind: "session" | "channel" | "bot";
  scopeId: string;
  name: string;
  mediaType: string;
  /** Bytes. */
  size: number;
  /** Hex SHA-256. */
  sha256: string;
  /** Where the bytes are in the attachment store. */
  storageKey: string;
  createdAt: number;
}

const toRow = (r: Database["attachments"]): AttachmentRow => ({
  id: r.id,
  scopeKind: r.scope_kind as AttachmentRow["scopeKind"],
  scopeId: r.scope_id,
  name: r.name,
  mediaType: r.media_type,
  size: Number(r.size),
  sha256: r.sha256,
  storageKey: r.storage_key,
  createdAt: Number(r.created_at),
});

/** Repository of `attachments` and `reply_attachments`. */
export class AttachmentRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Stores the row of a file whose bytes are already in the store. */
  async insert(row: AttachmentRow): Promise<void> {
    await this.#db
      .insertInto("attachments")
      .values({
        id: row.id,
        scope_kind: row.scopeKind,
        scope_id: row.scopeId,
        name: row.name,
        media_type: row.mediaType,
        size: row.size,
        sha256: row.sha256,
        storage_key: row.storageKey,
        created_at: row.createdAt,
      })
      .execute();
  }

  /** The attachment `id` when `scope` owns it, else undefined (never another scope's row). */
  async getInScope(
    id: string,
    scope: { kind: string; id: string },
  ): Promise<AttachmentRow | undefined> {
    const r = await this.#db
      .selectFrom("attachments")
      .selectAll()
      .where("id", "=", id)
      .where("scope_kind", "=", scope.kind)
      .where("scope_id", "=", scope.id)
      .executeTakeFirst();
    return r ? toRow(r) : undefined;
  }

  /** Attaches `attachmentId` to the reply of `taskId` (after those already attached; once). */
  async attachToReply(taskId: string, attachmentId: string, now = Date.now()): Promise<void> {
    const last = await this.#db
      .selectFrom("reply_attachments")
      .select((eb) => eb.fn.max("position").as("p"))
      .where("task_id", "=", taskId)
      .executeTakeFirst();
    await this.#db
      .insertInto("reply_attachments")
      .values({
        task_id: taskId,
        attachment_id: attachmentId,
        position: Number(last?.p ?? 0) + 1,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(["task_id", "attachment_id"]).doNothing())
      .execute();
  }

  /** The attachments of the reply of `taskId`, in the order they were attached. */
  async ofReply(taskId: string): Promise<AttachmentRow[]> {
    const rows = await this.#db
      .selectFrom("reply_attachments")
      .innerJoin("attachments", "attachments.id", "reply_attachments.attachment_id")
      .selectAll("attachments")
      .where("reply_attachments.task_id", "=", taskId)
      .orderBy("reply_attachments.position")
      .execute();
    return rows.map(toRow);
  }
}
