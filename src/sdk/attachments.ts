/**
 * The attachment store contract (seed `002_…`): files kept per scope. Types only for now;
 * the local and S3-compatible stores come with the attachments issue.
 */
import type { OwnerScope } from "./scopes.ts";

/** A stored file. */
export interface Attachment {
  id: string;
  scope: OwnerScope;
  name: string;
  mediaType: string;
  /** Size in bytes. */
  bytes: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
}

/** An inbound file to keep. */
export interface AttachmentSaveInput {
  scope: OwnerScope;
  name: string;
  mediaType?: string;
  data: Uint8Array | AsyncIterable<Uint8Array>;
}

/** A stored file with its bytes, for upload. */
export interface ResolvedAttachment extends Attachment {
  data(): AsyncIterable<Uint8Array>;
}

/**
 * An attachment store. It must keep scope boundaries: an id saved in one scope never
 * resolves in another.
 */
export interface AttachmentStore {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** @throws when the file is larger than `maxBytes` */
  save(input: AttachmentSaveInput): Promise<Attachment>;
  /** @returns undefined when the id is unknown in `scope` */
  resolve(input: { id: string }, scope: OwnerScope): Promise<ResolvedAttachment | undefined>;
}
