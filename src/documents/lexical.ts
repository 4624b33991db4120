/**
 * Lexical search over chunks, returning chunk lists ranked best first.
 *
 * A query is a bag of words: a chunk matches when it contains any of them (OR), and ranks
 * higher with more, rarer and title words. User text never reaches a query parser as
 * syntax: on SQLite every word is an FTS5 string (double quotes doubled); on PostgreSQL
 * only letters and digits reach `to_tsquery`.
 *
 * SQLite (FTS5, BM25 with the title weighted 2:1 over the text, Porter stemming, diacritics
 * folded): FTS5 scores every chunk that matches before it sorts, so a very common word
 * would cost time in proportion to the corpus. The words are weighed first: each is
 * tokenised by FTS5's own tokenizer (a TEMP FTS5 table, so stems agree exactly) and its
 * chunk frequency read from the index (fts5vocab). Then:
 * 1. Words in more than half of all chunks are dropped when any other word remains: BM25
 *    gives them no weight (FTS5 floors their IDF at 1e-6), so they would only add matches
 *    that rank last.
 * 2. When the remaining words occur in at most {@link SCORE_BUDGET} chunks together, the
 *    query runs exactly.
 * 3. Otherwise the rarest words, up to that budget, select the candidates and the commoner
 *    ones only re-rank them, at half weight (BM25 sums over the phrases of the match
 *    expression `(rare…) AND (rare… OR common…)`, where the rare words appear twice);
 *    and when even the rarest word is that common, the newest {@link NEWEST_SCORED}
 *    matching chunks are ranked.
 * Filters join the chunks table before the LIMIT; without filters it is joined after.
 *
 * PostgreSQL: `tsv @@ to_tsquery('english', 'w1 | w2 …')` on a GIN index, ranked by
 * `ts_rank_cd` (title weight A, text weight B). English stop words are ignored.
 */
import { type Kysely, sql } from "kysely";
import type { Dialect } from "../store/db.ts";
import type { Database } from "../store/schema.ts";

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

/** Lexical search: up to `n` chunks, best first. */
export interface LexicalSearch {
  search(query: string, filters: ChunkFilters, n: number): Promise<RankedChunk[]>;
}

/** Chunks a query may score exactly, about (see the module comment). */
export const SCORE_BUDGET = 25_000;
/** Chunks ranked when every query word is very common. */
export const NEWEST_SCORED = 2_000;
/** Words of a query that count; the rest are ignored. */
export const MAX_QUERY_WORDS = 32;

/** The lexical search of a dialect. */
export function lexicalSearch(db: Kysely<Database>, dialect: Dialect): LexicalSearch {
  return dialect === "sqlite" ? new SqliteLexical(db) : new PostgresLexical(db);
}

/** The words of a query, as the user wrote them, at most {@link MAX_QUERY_WORDS}. */
function words(query: string): string[] {
  return query.split(/\s+/).filter(Boolean).slice(0, MAX_QUERY_WORDS);
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

interface RankRow {
  chunk_id: number;
  document_id: string;
  /** BM25 as FTS5 gives it: lower is better. */
  bm25_rank: number;
}

interface Term {
  /** The word as an FTS5 string. */
  phrase: string;
  /** Chunks containing it (the least frequent of its tokens). */
  df: number;
}

class SqliteLexical implements LexicalSearch {
  readonly #db: Kysely<Database>;
  #ready: Promise<void> | undefined;
  #seq = 0;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async search(query: string, filters: ChunkFilters, n: number): Promise<RankedChunk[]> {
    const found = await this.#terms(query);
    if (!found.length) return [];
    // Words in more than half the chunks have no weight in BM25 (FTS5 floors their IDF at
    // 1e-6); next to any other word they only add matches that rank last, so they go.
    const { chunks } = await this.#count();
    const weighty = found.filter((t) => t.df <= chunks / 2);
    const terms = weighty.length ? weighty : found;
    terms.sort((a, b) => a.df - b.df);
    const any = (ts: Term[]) => ts.map((t) => t.phrase).join(" OR ");
    let match = any(terms);
    let newest = false;
    if (terms.reduce((s, t) => s + t.df, 0) > SCORE_BUDGET) {
      let selective = 0;
      for (let sum = 0; selective < terms.length; selective++) {
        sum += terms[selective]!.df;
        if (sum > SCORE_BUDGET) break;
      }
      if (selective === 0) newest = true;
      else match = `(${any(terms.slice(0, selective))}) AND (${match})`;
    }
    const order = newest
      ? sql`ORDER BY document_chunks_fts.rowid DESC LIMIT ${NEWEST_SCORED}`
      : sql`ORDER BY bm25_rank LIMIT ${n}`;
    // Without filters, chunks are joined after the LIMIT (a lookup per scored chunk would
    // double the cost); with filters, before it, driven by the FTS5 matches (CROSS JOIN).
    const stmt =
      filters.integrationId === undefined && filters.sessionId === undefined
        ? sql<RankRow>`
          SELECT c.id AS chunk_id, c.document_id AS document_id, r.bm25_rank AS bm25_rank
          FROM (SELECT rowid, bm25(document_chunks_fts, 2.0, 1.0) AS bm25_rank
                FROM document_chunks_fts WHERE document_chunks_fts MATCH ${match} ${order}) r
          JOIN document_chunks c ON c.id = r.rowid`
        : sql<RankRow>`
          SELECT c.id AS chunk_id, c.document_id AS document_id,
            bm25(document_chunks_fts, 2.0, 1.0) AS bm25_rank
          FROM document_chunks_fts CROSS JOIN document_chunks c ON c.id = document_chunks_fts.rowid
          WHERE document_chunks_fts MATCH ${match} AND ${filterSql("c", filters)} ${order}`;
    const { rows } = await stmt.execute(this.#db);
    rows.sort((a, b) => a.bm25_rank - b.bm25_rank);
    if (newest) rows.splice(n);
    return rows.map((r) => ({
      chunkId: Number(r.chunk_id),
      documentId: r.document_id,
      score: -r.bm25_rank,
    }));
  }

  /** The query's words that occur in the index, with their frequency, duplicates removed. */
  async #terms(query: string): Promise<Term[]> {
    const ws = words(query);
    if (!ws.length) return [];
    this.#ready ??= this.#createTokenizer();
    await this.#ready;
    // Each search owns a rowid range of the TEMP table, so concurrent searches never mix.
    this.#seq = (this.#seq + 1) % 1_000_000;
    const lo = this.#seq * 64;
    const hi = lo + 63;
    let rows: Array<{ doc: number; term: string }>;
    try {
      await sql`INSERT INTO temp.switchyard_query_words(rowid, w)
        SELECT ${lo} + key, value FROM json_each(${JSON.stringify(ws)})`.execute(this.#db);
      ({ rows } = await sql<{ doc: number; term: string }>`
        SELECT doc, term FROM temp.switchyard_query_words_v WHERE doc BETWEEN ${lo} AND ${hi}`.execute(
        this.#db,
      ));
    } finally {
      await sql`DELETE FROM temp.switchyard_query_words WHERE rowid BETWEEN ${lo} AND ${hi}`.execute(
        this.#db,
      );
    }
    const tokens = new Map<number, Set<string>>();
    for (const r of rows) {
      const i = Number(r.doc) - lo;
      const set = tokens.get(i) ?? new Set<string>();
      set.add(r.term);
      tokens.set(i, set);
    }
    const all = [...new Set(rows.map((r) => r.term))];
    if (!all.length) return [];
    const df = new Map<string, number>();
    const found = await sql<{ term: string; doc: number }>`
      SELECT term, doc FROM document_chunks_fts_terms
      WHERE term IN (SELECT value FROM json_each(${JSON.stringify(all)}))`.execute(this.#db);
    for (const r of found.rows) df.set(r.term, Number(r.doc));
    const seen = new Set<string>();
    const terms: Term[] = [];
    for (let i = 0; i < ws.length; i++) {
      const set = tokens.get(i);
      if (!set) continue;
      const key = [...set].sort().join(" ");
      if (seen.has(key)) continue;
      seen.add(key);
      const freq = Math.min(...[...set].map((t) => df.get(t) ?? 0));
      if (freq > 0) terms.push({ phrase: `"${ws[i]!.replaceAll('"', '""')}"`, df: freq });
    }
    return terms;
  }

  async #count(): Promise<{ chunks: number }> {
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM document_chunks`.execute(this.#db);
    return { chunks: Number(r.rows[0]?.n ?? 0) };
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

class PostgresLexical implements LexicalSearch {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async search(query: string, filters: ChunkFilters, n: number): Promise<RankedChunk[]> {
    const terms = [
      ...new Set(
        words(query)
          .join(" ")
          .toLowerCase()
          .match(/[\p{L}\p{N}]+/gu) ?? [],
      ),
    ].slice(0, MAX_QUERY_WORDS);
    if (!terms.length) return [];
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
}
