/**
 * Vector storage and search helpers. Vectors are stored unit-length, so cosine similarity is
 * a dot product. Two engines:
 * - `pgvector`: PostgreSQL with the `vector` extension; the database orders by `<=>`
 *   (cosine distance) itself, exactly (no approximate index: the column has no fixed size).
 * - `exact`: SQLite, or PostgreSQL without pgvector; float32 BLOB/bytea rows, scanned in
 *   full from an in-memory copy (see vector-index.ts).
 * Only vectors made by the configured model are compared.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.ts";
import type { ChunkFilters, RankedChunk } from "./lexical.ts";

/** Which vector engine runs. */
export type VectorEngine = "pgvector" | "exact";

/** A unit-length float32 copy of `v`. @throws RangeError for an empty, zero or non-finite vector */
export function normalize(v: ArrayLike<number>): Float32Array {
  const out = new Float32Array(v.length);
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) throw new RangeError("embedding contains a non-finite number");
    out[i] = x;
    sum += x * x;
  }
  if (!v.length || sum === 0) throw new RangeError("embedding is empty or zero");
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < out.length; i++) out[i]! *= inv;
  return out;
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

/** pgvector: the `n` chunks most similar to `query` (unit length), best first. */
export async function pgvectorSearch(
  db: Kysely<Database>,
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
    ORDER BY distance LIMIT ${n}`.execute(db);
  return rows.map((r) => ({
    chunkId: Number(r.id),
    documentId: r.document_id,
    score: 1 - Number(r.distance),
  }));
}

/** Keeps the `n` items with the highest scores (a min-heap). */
export class TopN<T> {
  readonly #n: number;
  readonly #heap: Array<[number, T]> = [];
  constructor(n: number) {
    this.#n = n;
  }
  /** Adds an item if it ranks; returns the score an item must now beat to rank. */
  offer(score: number, item: T): number {
    const h = this.#heap;
    if (h.length < this.#n) {
      h.push([score, item]);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p]![0] <= h[i]![0]) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
      return h.length < this.#n ? Number.NEGATIVE_INFINITY : h[0]![0];
    }
    if (this.#n === 0) return Number.POSITIVE_INFINITY;
    if (score <= h[0]![0]) return h[0]![0];
    h[0] = [score, item];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]![0] < h[m]![0]) m = l;
      if (r < h.length && h[r]![0] < h[m]![0]) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
    return h[0]![0];
  }
  sorted(): Array<[number, T]> {
    return [...this.#heap].sort((a, b) => b[0] - a[0]);
  }
}

/**
 * Makes pgvector available when the server has it: creates the extension (if allowed) and
 * the `embedding_vec` column, then moves embeddings stored as bytes into it.
 * @returns "pgvector", or "exact" with the reason pgvector is not used
 */
export async function setUpPgvector(
  db: Kysely<Database>,
): Promise<{ engine: VectorEngine; reason?: string; moved: number }> {
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
        .set({
          embedding_vec: sql<string>`${toVectorLiteral(fromBytes(r.embedding!))}::vector`,
          embedding: null,
        })
        .where("id", "=", r.id)
        .execute();
    }
    moved += batch.length;
  }
  return { engine: "pgvector", moved };
}
