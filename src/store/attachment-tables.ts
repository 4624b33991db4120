/**
 * Row types of stored files (migration 0019): attachments, and the files a reply carries.
 * Times are milliseconds since the epoch (integers); JSON values are stored as text and
 * parsed by the repositories. Re-exported by ./schema.ts.
 */

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
