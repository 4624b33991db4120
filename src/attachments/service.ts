/**
 * The attachment store (`AttachmentStore`, sdk/attachments.ts): a row per file in the
 * database (`store.attachments`) and its bytes in a {@link BlobStore}. A file is streamed
 * to a spool file under the data dir while it is counted and hashed; over `maxBytes` the
 * stream is abandoned and the spool file removed, so nothing larger than the limit is ever
 * kept or held in memory. Reads always name a scope: an id saved in another scope resolves
 * to undefined.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { uuidv7 } from "../ids.ts";
import type {
  Attachment,
  AttachmentSaveInput,
  AttachmentStore,
  ResolvedAttachment,
} from "../sdk/attachments.ts";
import type { OwnerScope } from "../sdk/scopes.ts";
import type { AttachmentRow } from "../store/attachments.ts";
import type { Store } from "../store/index.ts";
import type { BlobStore } from "./blobs.ts";
import { type Measure, measured } from "./measure.ts";
import { cleanFileName, cleanMediaType } from "./names.ts";

/** What the service is built from. */
export interface AttachmentServiceOptions {
  store: Pick<Store, "attachments">;
  blobs: BlobStore;
  /** Largest file, bytes (`SWITCHYARD_ATTACHMENT_MAX_BYTES`). */
  maxBytes: number;
  /** A folder for spool files while a file streams in (created when missing). */
  spoolDir: string;
}

/** A stored attachment's row as the SDK shows it. */
export function attachmentOf(row: AttachmentRow): Attachment {
  return {
    id: row.id,
    scope: { kind: row.scopeKind, id: row.scopeId },
    name: row.name,
    mediaType: row.mediaType,
    bytes: row.size,
    sha256: row.sha256,
    createdAt: row.createdAt,
  };
}

/** Keeps files per scope. */
export class AttachmentService implements AttachmentStore {
  readonly maxBytes: number;
  readonly #o: AttachmentServiceOptions;

  constructor(opts: AttachmentServiceOptions) {
    this.#o = opts;
    this.maxBytes = opts.maxBytes;
  }

  /** `local` or `s3`. */
  get kind(): string {
    return this.#o.blobs.kind;
  }

  /**
   * Stores a file in `input.scope`.
   * @throws AttachmentTooLargeError over `maxBytes` (nothing kept); the source's or the
   *   storage's error otherwise (nothing kept either)
   */
  async save(input: AttachmentSaveInput): Promise<Attachment> {
    const id = uuidv7();
    const name = cleanFileName(input.name);
    const mediaType = cleanMediaType(input.mediaType, name);
    const key = `${input.scope.kind}/${safeSegment(input.scope.id)}/${id}`;
    await mkdir(this.#o.spoolDir, { recursive: true });
    const spool = join(this.#o.spoolDir, `${id}.${randomUUID().slice(0, 8)}.part`);
    const m: Measure = { size: 0 };
    try {
      await pipeline(
        Readable.from(measured(input.data, this.maxBytes, m)),
        createWriteStream(spool),
      );
      await this.#o.blobs.putFile(key, spool, m.size, mediaType);
    } finally {
      await rm(spool, { force: true });
    }
    const row: AttachmentRow = {
      id,
      scopeKind: input.scope.kind,
      scopeId: input.scope.id,
      name,
      mediaType,
      size: m.size,
      sha256: m.sha256!,
      storageKey: key,
      createdAt: Date.now(),
    };
    try {
      await this.#o.store.attachments.insert(row);
    } catch (err) {
      await this.#o.blobs.delete(key).catch(() => {});
      throw err;
    }
    return attachmentOf(row);
  }

  /** The attachment `id` with its bytes, when `scope` owns it; else undefined. */
  async resolve(input: { id: string }, scope: OwnerScope): Promise<ResolvedAttachment | undefined> {
    if (typeof input.id !== "string" || !input.id || input.id.length > 100) return undefined;
    const row = await this.#o.store.attachments.getInScope(input.id, scope);
    if (!row) return undefined;
    const blobs = this.#o.blobs;
    return { ...attachmentOf(row), data: () => blobs.get(row.storageKey) };
  }

  /** Releases the blob store's clients. */
  close(): Promise<void> {
    return this.#o.blobs.close();
  }
}

/** A scope id as one safe path or key segment. */
function safeSegment(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, (c) => `~${c.charCodeAt(0).toString(16)}`).slice(0, 200);
}
