/**
 * Row types of the document store: documents, their chunks (lexical and vector search) and
 * the index's change counter.
 * Times are milliseconds since the epoch (integers); JSON values are stored as text and
 * parsed by the repositories. Re-exported by ./schema.ts.
 */
import type { Generated } from "kysely";

/** Ingested documents (see src/documents/). */
export interface DocumentsTable {
  id: string;
  title: string | null;
  content: string;
  integration_id: string | null;
  session_id: string | null;
  /** JSON object. */
  metadata: string;
  created_at: number;
}

/**
 * Chunks of documents, the unit of search. SQLite indexes them in the FTS5 table
 * `document_chunks_fts` (kept by triggers); PostgreSQL in the `tsv` column (GIN).
 */
export interface DocumentChunksTable {
  /** Integer key, increasing (SQLite AUTOINCREMENT, PostgreSQL bigserial); the FTS5 rowid. */
  id: Generated<number>;
  document_id: string;
  /** Position of the chunk in its document, from 0. */
  ordinal: number;
  content: string;
  integration_id: string | null;
  session_id: string | null;
  /** The `provider:model` that made `embedding`, or null when not embedded. */
  embedding_model: string | null;
  /** Unit-length float32 vector, little-endian; null when not embedded (or held in pgvector). */
  embedding: Uint8Array | null;
  /** PostgreSQL only: the full-text vector (title A, content B). */
  tsv?: string;
  /** PostgreSQL with pgvector only: the embedding as a `vector`. */
  embedding_vec?: string | null;
}

/** One row (id 1): a counter bumped by every document write. */
export interface DocumentIndexStateTable {
  id: number;
  generation: number;
}
