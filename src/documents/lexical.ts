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
 *
 * The queries themselves are in `src/store/document-search.ts`.
 */
import type {
  ChunkFilters,
  DocumentSearchRepository,
  RankedChunk,
} from "../store/document-search.ts";
import type { Store } from "../store/index.ts";

export type { ChunkFilters, RankedChunk } from "../store/document-search.ts";

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

/** The lexical search of the store's dialect. */
export function lexicalSearch(store: Store): LexicalSearch {
  return store.dialect === "sqlite"
    ? new SqliteLexical(store.documentSearch)
    : new PostgresLexical(store.documentSearch);
}

/** The words of a query, as the user wrote them, at most {@link MAX_QUERY_WORDS}. */
function words(query: string): string[] {
  return query.split(/\s+/).filter(Boolean).slice(0, MAX_QUERY_WORDS);
}

interface Term {
  /** The word as an FTS5 string. */
  phrase: string;
  /** Chunks containing it (the least frequent of its tokens). */
  df: number;
}

class SqliteLexical implements LexicalSearch {
  readonly #fts: DocumentSearchRepository;
  constructor(fts: DocumentSearchRepository) {
    this.#fts = fts;
  }

  async search(query: string, filters: ChunkFilters, n: number): Promise<RankedChunk[]> {
    const found = await this.#terms(query);
    if (!found.length) return [];
    // Words in more than half the chunks have no weight in BM25 (FTS5 floors their IDF at
    // 1e-6); next to any other word they only add matches that rank last, so they go.
    const chunks = await this.#fts.chunkCount();
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
    const rows = await this.#fts.match(match, filters, newest ? NEWEST_SCORED : n, newest);
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
    const rows = await this.#fts.tokens(ws);
    const tokens = new Map<number, Set<string>>();
    for (const r of rows) {
      const set = tokens.get(r.word) ?? new Set<string>();
      set.add(r.term);
      tokens.set(r.word, set);
    }
    const all = [...new Set(rows.map((r) => r.term))];
    if (!all.length) return [];
    const df = await this.#fts.chunkFrequencies(all);
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
}

class PostgresLexical implements LexicalSearch {
  readonly #queries: DocumentSearchRepository;
  constructor(queries: DocumentSearchRepository) {
    this.#queries = queries;
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
    return this.#queries.tsRank(terms, filters, n);
  }
}
