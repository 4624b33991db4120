/** Public shapes of documents and document search (TS side; the REST API uses snake_case). */

/** A document to ingest. */
export interface DocumentInput {
  title?: string | null;
  content: string;
  integrationId?: string | null;
  sessionId?: string | null;
  metadata?: Record<string, unknown>;
}

/** A stored document. Its chunks and their embeddings stay inside the server. */
export interface DocumentRecord {
  id: string;
  title: string | null;
  content: string;
  integrationId: string | null;
  sessionId: string | null;
  metadata: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** A search over documents. Filters are exact matches. */
export interface DocumentSearchQuery {
  query: string;
  integrationId?: string;
  sessionId?: string;
  /** Documents to return: default 10, at most 100. */
  limit?: number;
}

/** One found document with its best chunk. */
export interface DocumentSearchHit {
  documentId: string;
  title: string | null;
  integrationId: string | null;
  sessionId: string | null;
  metadata: Record<string, unknown>;
  createdAt: number;
  /**
   * Higher is better. Lexical mode: the engine's relevance (BM25 on SQLite, ts_rank_cd on
   * PostgreSQL); hybrid mode: the reciprocal rank fusion sum.
   */
  score: number;
  /** The document's best chunk: its position in the document (0-based) and text. */
  chunk: { index: number; content: string };
}

/** What a search returns; `mode` says whether vector search took part. */
export interface DocumentSearchResult {
  mode: "lexical" | "hybrid";
  results: DocumentSearchHit[];
  /** Set when hybrid search was configured but fell back to lexical (e.g. the embedding call failed). */
  warning?: string;
}
