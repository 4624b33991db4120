/**
 * Documents and their chunks in the store. A document and all its chunks are written in
 * one transaction; the lexical index follows the chunks (SQLite: triggers into FTS5;
 * PostgreSQL: the `tsv` column written with each chunk). Deleting a document deletes its
 * chunks (and so their index entries and embeddings).
 */
import { type Kysely, sql } from "kysely";
import type { DocumentRecord } from "../sdk/documents.ts";
import type { Dialect } from "./db.ts";
import { fromJson } from "./json.ts";
import type { Database, DocumentsTable } from "./schema.ts";
import { toBytes, vectorValue } from "./vectors.ts";

/** A chunk to store: its position in the document (from 0) and its text. */
export interface ChunkInput {
  index: number;
  content: string;
}

/** Where chunk embeddings go: none, the portable BLOB/bytea column, or pgvector. */
export type EmbeddingTarget =
  | { kind: "none" }
  | { kind: "bytes" | "pgvector"; model: string; vectors: Float32Array[] };

/** A document without its content, for search results. */
export type DocumentSummary = Omit<DocumentRecord, "content">;

const INSERT_BATCH = 100;

/** What a write did: chunk ids (by chunk index) and the generation it made. */
export interface Written {
  chunkIds: number[];
  generation: number;
}

/** Reads and writes documents and chunks. */
export class DocumentRepository {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  /**
   * Stores a document and its chunks (with their embeddings) atomically (in the caller's
   * transaction, when this repository is bound to one).
   * @returns the chunk ids (by chunk index) and the index generation this write made
   */
  async insert(
    doc: DocumentRecord,
    chunks: ChunkInput[],
    embeddings: EmbeddingTarget,
  ): Promise<Written> {
    const pg = this.#dialect === "postgres";
    const title = doc.title ?? "";
    return this.#atomically(async (trx) => {
      await trx
        .insertInto("documents")
        .values({
          id: doc.id,
          title: doc.title,
          content: doc.content,
          integration_id: doc.integrationId,
          session_id: doc.sessionId,
          metadata: JSON.stringify(doc.metadata),
          created_at: doc.createdAt,
        })
        .execute();
      const chunkIds: number[] = [];
      for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
        const rows = chunks.slice(i, i + INSERT_BATCH).map((c) => {
          const v = embeddings.kind === "none" ? undefined : embeddings.vectors[c.index];
          return {
            document_id: doc.id,
            ordinal: c.index,
            content: c.content,
            integration_id: doc.integrationId,
            session_id: doc.sessionId,
            embedding_model: v && embeddings.kind !== "none" ? embeddings.model : null,
            embedding: v && embeddings.kind === "bytes" ? toBytes(v) : null,
            ...(v && embeddings.kind === "pgvector" ? { embedding_vec: vectorValue(v) } : {}),
            ...(pg
              ? {
                  tsv: sql<string>`setweight(to_tsvector('english', ${title}), 'A') || setweight(to_tsvector('english', ${c.content}), 'B')`,
                }
              : {}),
          };
        });
        const ids = await trx
          .insertInto("document_chunks")
          .values(rows)
          .returning(["id", "ordinal"])
          .execute();
        for (const r of ids) chunkIds[r.ordinal] = Number(r.id);
      }
      return { chunkIds, generation: await bump(trx) };
    });
  }

  /** The document, or undefined. */
  async get(id: string): Promise<DocumentRecord | undefined> {
    const r = await this.#db
      .selectFrom("documents")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return r ? { ...summary(r), content: r.content } : undefined;
  }

  /**
   * Deletes a document and its chunks.
   * @returns whether it existed, the deleted chunk ids and the generation this write made
   */
  async delete(id: string): Promise<Written & { existed: boolean }> {
    return this.#atomically(async (trx) => {
      const chunks = await trx
        .deleteFrom("document_chunks")
        .where("document_id", "=", id)
        .returning("id")
        .execute();
      const r = await trx.deleteFrom("documents").where("id", "=", id).executeTakeFirst();
      const existed = Number(r.numDeletedRows) > 0;
      return {
        existed,
        chunkIds: chunks.map((c) => Number(c.id)),
        generation: existed ? await bump(trx) : -1,
      };
    });
  }

  /** The index generation (`document_index_state`): bumped by every document write. */
  async generation(): Promise<number> {
    const r = await this.#db
      .selectFrom("document_index_state")
      .select("generation")
      .where("id", "=", 1)
      .executeTakeFirstOrThrow();
    return Number(r.generation);
  }

  /** Documents by id, without their content. */
  async summaries(ids: string[]): Promise<Map<string, DocumentSummary>> {
    if (!ids.length) return new Map();
    const rows = await this.#db
      .selectFrom("documents")
      .select(["id", "title", "integration_id", "session_id", "metadata", "created_at"])
      .where("id", "in", ids)
      .execute();
    return new Map(rows.map((r) => [r.id, summary(r)]));
  }

  /** Chunk positions and texts by chunk id. */
  async chunks(ids: number[]): Promise<Map<number, { index: number; content: string }>> {
    if (!ids.length) return new Map();
    const rows = await this.#db
      .selectFrom("document_chunks")
      .select(["id", "ordinal", "content"])
      .where("id", "in", ids)
      .execute();
    return new Map(rows.map((r) => [Number(r.id), { index: r.ordinal, content: r.content }]));
  }

  /** Runs `fn` in a new transaction, or in the one this repository is bound to. */
  #atomically<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.#db.isTransaction ? fn(this.#db) : this.#db.transaction().execute(fn);
  }
}

/** Bumps the index generation inside a write transaction; returns the new value. */
async function bump(trx: Kysely<Database>): Promise<number> {
  const r = await trx
    .updateTable("document_index_state")
    .set({ generation: sql<number>`generation + 1` })
    .where("id", "=", 1)
    .returning("generation")
    .executeTakeFirstOrThrow();
  return Number(r.generation);
}

function summary(
  r: Pick<
    DocumentsTable,
    "id" | "title" | "integration_id" | "session_id" | "metadata" | "created_at"
  >,
): DocumentSummary {
  return {
    id: r.id,
    title: r.title,
    integrationId: r.integration_id,
    sessionId: r.session_id,
    metadata: fromJson(r.metadata, {}),
    createdAt: Number(r.created_at),
  };
}
