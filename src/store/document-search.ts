/**
 * The queries of lexical document search (the ranking policy is in
 * `src/documents/lexical.ts`).
 *
 * SQLite: FTS5 over `document_chunks_fts` (migration 0003_documents; kept by triggers),
 * BM25 with the title weighted 2:1 over the text; a TEMP FTS5 table with the same
 * tokenizer splits and stems query words exactly as the index does, and the index's
 * fts5vocab table (`document_chunks_fts_terms`) gives each term's chunk frequency.
 * PostgreSQL: `tsv @@ to_tsquery('english', …)` on the GIN index, ranked by `ts_rank_cd`.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "./schema.ts";

/** A chunk in a ranked list. `score`: higher is better. */
export interface RankedChunk {
  chunkId: number;
  documentId: string;
  score: number;
}

/** Exact-match filters on chunks (copied from their document). */
export interface ChunkFilters {
  integrationId?: string;
  sessionId?: string;
}

/** A chunk matched by an FTS5 query, with BM25 as FTS5 gives it (lower is better). */
export interface Bm25Row {
  chunk_id: number;
  document_id: string;
  bm25_rank: number;
}

function filterSql(alias: string, f: ChunkFilters) {
  return sql.join(
    [
      sql`TRUE`,
      ...(f.integrationId !== undefined
        ? [sql`${sql.ref(`${alias}.integration_id`)} = ${f.integrationId}`]
        : []),
      ...(f.sessionId !== undefined
        ? [sql`${sql.ref(`${alias}.session_id`)} = ${f.sessionId}`]
        : []),
    ],
    sql` AND `,
  );
}

/**
 * The queries of lexical search: SQLite's FTS5 ones ({@link tokens}, {@link chunkFrequencies},
 * {@link chunkCount}, {@link match}) and PostgreSQL's ({@link tsRank}).
 */
export class DocumentSearchRepository {
  readonly #db: Kysely<Database>;
  #ready: Promise<void> | undefined;
  #seq = 0;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * SQLite: splits and stems `words` with the index's own tokenizer.
   * @returns one row per token: the position of its word in `words`, and the term
   */
  async tokens(words: string[]): Promise<Array<{ word: number; term: string }>> {
    this.#ready ??= this.#createTokenizer();
    await this.#ready;
    // Each call owns a rowid range of the TEMP table, so concurrent searches never mix.
    this.#seq = (this.#seq + 1) % 1_000_000;
    const lo = this.#seq * 64;
    const hi = lo + 63;
    let rows: Array<{ doc: number; term: string }>;
    try {
      await sql`INSERT INTO temp.switchyard_query_words(rowid, w)
        SELECT ${lo} + key, value FROM json_each(${JSON.stringify(words)})`.execute(this.#db);
      ({ rows } = await sql<{ doc: number; term: string }>`
        SELECT doc, term FROM temp.switchyard_query_words_v WHERE doc BETWEEN ${lo} AND ${hi}`.execute(
        this.#db,
      ));
    } finally {
      await sql`DELETE FROM temp.switchyard_query_words WHERE rowid BETWEEN ${lo} AND ${hi}`.execute(
        this.#db,
      );
    }
    return rows.map((r) => ({ word: Number(r.doc) - lo, term: r.term }));
  }

  /** SQLite: chunks containing each of `terms` (terms in no chunk are absent). */
  async chunkFrequencies(terms: string[]): Promise<Map<string, number>> {
    const df = new Map<string, number>();
    const found = await sql<{ term: string; doc: number }>`
      SELECT term, doc FROM document_chunks_fts_terms
      WHERE term IN (SELECT value FROM json_each(${JSON.stringify(terms)}))`.execute(this.#db);
    for (const r of found.rows) df.set(r.term, Number(r.doc));
    return df;
  }

  /** Chunks in the store. */
  async chunkCount(): Promise<number> {
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM document_chunks`.execute(this.#db);
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * SQLite: chunks matching the FTS5 expression `match` (words must be FTS5 strings) and
   * `filters`: the best `limit` by BM25 (title 2 : text 1), or with `newest` the newest
   * `limit` matches. Rows come in no particular order.
   */
  async match(
    match: string,
    filters: ChunkFilters,
    limit: number,
    newest: boolean,
  ): Promise<Bm25Row[]> {
    const order = newest
      ? sql`ORDER BY document_chunks_fts.rowid DESC LIMIT ${limit}`
      : sql`ORDER BY bm25_rank LIMIT ${limit}`;
    // Without filters, chunks are joined after the LIMIT (a lookup per scored chunk would
    // double the cost); with filters, before it, driven by the FTS5 matches (CROSS JOIN).
    const stmt =
      filters.integrationId === undefined && filters.sessionId === undefined
        ? sql<Bm25Row>`
          SELECT c.id AS chunk_id, c.document_id AS document_id, r.bm25_rank AS bm25_rank
          FROM (SELECT rowid, bm25(document_chunks_fts, 2.0, 1.0) AS bm25_rank
                FROM document_chunks_fts WHERE document_chunks_fts MATCH ${match} ${order}) r
          JOIN document_chunks c ON c.id = r.rowid`
        : sql<Bm25Row>`
          SELECT c.id AS chunk_id, c.document_id AS document_id,
            bm25(document_chunks_fts, 2.0, 1.0) AS bm25_rank
          FROM document_chunks_fts CROSS JOIN document_chunks c ON c.id = document_chunks_fts.rowid
          WHERE document_chunks_fts MATCH ${match} AND ${filterSql("c", filters)} ${order}`;
    return (await stmt.execute(this.#db)).rows;
  }

  /**
   * PostgreSQL: the best `n` chunks matching any of `terms` (letters and digits only: they
   * are joined into a `to_tsquery` OR expression) and `filters`, by `ts_rank_cd`, best first.
   */
  async tsRank(terms: string[], filters: ChunkFilters, n: number): Promise<RankedChunk[]> {
    const { rows } = await sql<{ chunk_id: number; document_id: string; rank: number }>`
      SELECT c.id AS chunk_id, c.document_id, ts_rank_cd(c.tsv, q.q) AS rank
      FROM document_chunks c, to_tsquery('english', ${terms.join(" | ")}) AS q(q)
      WHERE c.tsv @@ q.q AND ${filterSql("c", filters)}
      ORDER BY rank DESC, c.id DESC LIMIT ${n}`.execute(this.#db);
    return rows.map((r) => ({
      chunkId: Number(r.chunk_id),
      documentId: r.document_id,
      score: Number(r.rank),
    }));
  }

  /** A TEMP FTS5 table with the index's tokenizer, to split and stem query words exactly alike. */
  async #createTokenizer(): Promise<void> {
    // Must match the tokenizer of document_chunks_fts (migration 0003_documents).
    await sql`CREATE VIRTUAL TABLE IF NOT EXISTS temp.switchyard_query_words
      USING fts5(w, tokenize='porter unicode61 remove_diacritics 2')`.execute(this.#db);
    await sql`CREATE VIRTUAL TABLE IF NOT EXISTS temp.switchyard_query_words_v
      USING fts5vocab(temp, switchyard_query_words, 'instance')`.execute(this.#db);
  }
}
