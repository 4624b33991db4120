/**
 * Chunk embeddings in the store. Vectors are stored unit-length float32, so cosine
 * similarity is a dot product, in one of two columns of `document_chunks`:
 * - `embedding` (BLOB / bytea, platform byte order), read by the exact engine's in-memory
 *   copy (`src/documents/vector-index.ts`);
 * - `embedding_vec` (pgvector's `vector`, PostgreSQL with the extension), which the
 *   database orders by `<=>` (cosine distance) itself, exactly (no approximate index: the
 *   column has no fixed size).
 * Only vectors made by the configured model (`embedding_model`) are compared.
 */
import { type Kysely, sql } from "kysely";
import type { ChunkFilters, RankedChunk } from "./document-search.ts";
import type { Database } from "./schema.ts";

/** Which vector engine runs. */
export type VectorEngine = "pgvector" | "exact";

/** One chunk's vector with what filters and results need. */
export interface IndexedChunk {
  id: number;
  documentId: string;
  integrationId: string | null;
  sessionId: string | null;
  vector: Float32Array;
}

/** The bytes of a float32 vector (platform order: little-endian on every supported CPU). */
export function toBytes(v: Float32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** A float32 view of stored bytes (copied when not 4-byte aligned). */
export function fromBytes(b: Uint8Array): Float32Array {
  const n = b.byteLength >> 2;
  if (b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, n);
  return new Float32Array(b.slice().buffer, 0, n);
}

/** pgvector's text form, `[0.1,0.2,…]`. */
export function toVectorLiteral(v: Float32Array): string {
  return `[${Array.from(v).join(",")}]`;
}

/** `v` as an `embedding_vec` column value (pgvector). */
export function vectorValue(v: Float32Array) {
  return sql<string>`${toVectorLiteral(v)}::vector`;
}

/** Chunk embeddings: pgvector search and set-up, and the exact engine's loading queries. */
export class VectorRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** pgvector: the `n` chunks most similar to `query` (unit length), best first. */
  async search(
    query: Float32Array,
    model: string,
    filters: ChunkFilters,
    n: number,
  ): Promise<RankedChunk[]> {
    const lit = toVectorLiteral(query);
    const { rows } = await sql<{ id: number; document_id: string; distance: number }>`
      SELECT id, document_id, embedding_vec <=> ${lit}::vector AS distance
      FROM document_chunks
      WHERE embedding_model = ${model} AND embedding_vec IS NOT NULL
      ${filters.integrationId !== undefined ? sql`AND integration_id = ${filters.integrationId}` : sql``}
      ${filters.sessionId !== undefined ? sql`AND session_id = ${filters.sessionId}` : sql``}
      ORDER BY distance LIMIT ${n}`.execute(this.#db);
    return rows.map((r) => ({
      chunkId: Number(r.id),
      documentId: r.document_id,
      score: 1 - Number(r.distance),
    }));
  }

  /** Count and id sum of the chunks with a stored (byte) embedding of `model`. */
  async embeddedSums(model: string): Promise<{ count: number; idSum: number }> {
    const r = await sql<{ n: number | string; s: number | string | null }>`
      SELECT count(*) AS n, sum(id) AS s FROM document_chunks
      WHERE embedding_model = ${model} AND embedding IS NOT NULL`.execute(this.#db);
    const { n, s } = r.rows[0] ?? { n: 0, s: 0 };
    return { count: Number(n), idSum: Number(s ?? 0) };
  }

  /**
   * Up to `limit` chunks with a stored (byte) embedding of `model` and an id above
   * `afterId`, by id, their vectors decoded.
   */
  async embeddedAfter(model: string, afterId: number, limit: number): Promise<IndexedChunk[]> {
    const rows = await this.#db
      .selectFrom("document_chunks")
      .select(["id", "document_id", "integration_id", "session_id", "embedding"])
      .where("embedding_model", "=", model)
      .where("embedding", "is not", null)
      .where("id", ">", afterId)
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      documentId: r.document_id,
      integrationId: r.integration_id,
      sessionId: r.session_id,
      vector: fromBytes(r.embedding!),
    }));
  }

  /**
   * Makes pgvector available when the server has it: creates the extension (if allowed) and
   * the `embedding_vec` column, then moves embeddings stored as bytes into it.
   * @returns "pgvector", or "exact" with the reason pgvector is not used
   */
  async setUpPgvector(): Promise<{ engine: VectorEngine; reason?: string; moved: number }> {
    const db = this.#db;
    try {
      const { rows } = await sql<{ installed_version: string | null }>`
        SELECT installed_version FROM pg_available_extensions WHERE name = 'vector'`.execute(db);
      if (!rows.length) {
        return { engine: "exact", reason: "the vector extension is not installed", moved: 0 };
      }
      if (!rows[0]!.installed_version) {
        try {
          await sql`CREATE EXTENSION IF NOT EXISTS vector`.execute(db);
        } catch (err) {
          // Another instance may have created it at the same moment; anything else is final.
          const again = await sql`SELECT 1 FROM pg_extension WHERE extname = 'vector'`.execute(db);
          if (!again.rows.length) throw err;
        }
      }
      await sql`ALTER TABLE document_chunks ADD COLUMN IF NOT EXISTS embedding_vec vector`.execute(
        db,
      );
    } catch (err) {
      return { engine: "exact", reason: (err as Error).message, moved: 0 };
    }
    let moved = 0;
    for (;;) {
      const batch = await db
        .selectFrom("document_chunks")
        .select(["id", "embedding"])
        .where("embedding", "is not", null)
        .limit(500)
        .execute();
      if (!batch.length) break;
      for (const r of batch) {
        await db
          .updateTable("document_chunks")
          .set({ embedding_vec: vectorValue(fromBytes(r.embedding!)), embedding: null })
          .where("id", "=", r.id)
          .execute();
      }
      moved += batch.length;
    }
    return { engine: "pgvector", moved };
  }
}
