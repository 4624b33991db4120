/**
 * The attachment store contract (seed `002_…`, issue 13): files kept per scope. Core's
 * stores are `local` (under the data dir) and S3-compatible (`src/attachments/`); see
 * docs/attachments.md.
 */
import type { OwnerScope } from "./scopes.ts";

/** A stored file. */
export interface Attachment {
  /** A UUID (v7). */
  id: string;
  /** Who owns it: only this scope resolves `id`. */
  scope: OwnerScope;
  /** File name as given (last path segment, control characters removed, ≤ 255 characters). */
  name: string;
  /** Media type without parameters (`image/png`); `application/octet-stream` when unknown. */
  mediaType: string;
  /** Size in bytes. */
  bytes: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
  /** When it was stored, ms since the epoch. */
  createdAt?: number;
}

/** An inbound file to keep. */
export interface AttachmentSaveInput {
  scope: OwnerScope;
  name: string;
  /** Default `application/octet-stream`. */
  mediaType?: string;
  /** The bytes, whole or streamed; a stream is read once and never buffered whole. */
  data: Uint8Array | AsyncIterable<Uint8Array>;
}

/** A stored file with its bytes, for upload. */
export interface ResolvedAttachment extends Attachment {
  /** The bytes, streamed from the store (each call reads them anew). */
  data(): AsyncIterable<Uint8Array>;
}

/**
 * An attachment store. It must keep scope boundaries: an id saved in one scope never
 * resolves in another.
 */
export interface AttachmentStore {
  /** Largest file accepted, in bytes (`SWITCHYARD_ATTACHMENT_MAX_BYTES`, default 25 MB). */
  maxBytes: number;
  /**
   * Stores a file, enforcing `maxBytes` while it streams.
   * @throws AttachmentTooLargeError (`name === "AttachmentTooLargeError"`) when the file is
   *   larger than `maxBytes`: nothing of it is kept
   */
  save(input: AttachmentSaveInput): Promise<Attachment>;
  /** @returns undefined when the id is unknown in `scope` (also when another scope owns it) */
  resolve(input: { id: string }, scope: OwnerScope): Promise<ResolvedAttachment | undefined>;
}
