/**
 * The documents service: ingest (chunk, embed, store), get, delete and search, used by the
 * REST API, integrations (`ctx.ingestDocument` / `ctx.searchDocuments`) and the
 * `search_documents` tool.
 *
 * Search is lexical without an embedding model. With `SWITCHYARD_EMBEDDING_MODEL` it is
 * hybrid: the lexical and the vector list of chunks are each reduced to a list of
 * documents (ranked by their best chunk) and fused by reciprocal rank fusion,
 * score = Σ 1 / (60 + rank). A document's shown chunk is its chunk with the best fused
 * chunk score.
 */

import type { EmbeddingModel } from "ai";
import type { Logger } from "pino";
import type { ModelRegistry } from "../agent/models.ts";
import { uuidv7 } from "../ids.ts";
import type {
  DocumentInput,
  DocumentRecord,
  DocumentSearchHit,
  DocumentSearchQuery,
  DocumentSearchResult,
} from "../sdk/documents.ts";
import type { DocumentRepository, EmbeddingTarget } from "../store/documents.ts";
import type { Store } from "../store/index.ts";
import type { VectorEngine } from "../store/vectors.ts";
import { type Chunk, chunkText } from "./chunking.ts";
import {
  type ChunkFilters,
  type LexicalSearch,
  lexicalSearch,
  type RankedChunk,
} from "./lexical.ts";
import { checkDocumentInput } from "./validate.ts";
import { VectorIndex } from "./vector-index.ts";
import { normalize } from "./vectors.ts";

/** The `k` of reciprocal rank fusion. */
export const RRF_K = 60;
/** Default and largest number of documents a search returns. */
export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;
/** Texts per embedding request at ingest. */
export const EMBED_BATCH = 128;

/** The embedding model failed or answered nonsense; nothing was stored. */
export class EmbeddingError extends Error {}

/** What the service needs. */
export interface DocumentServiceOptions {
  store: Store;
  models: ModelRegistry;
  /** `provider:model` of `SWITCHYARD_EMBEDDING_MODEL`, or undefined for lexical search only. */
  embeddingModel?: string;
  log: Logger;
  /** Retries of an embedding call (default 2). */
  maxRetries?: number;
}

/** Documents: ingest, get, delete, search. */
export class DocumentService {
  readonly embeddingModel: string | undefined;
  readonly #store: Store;
  readonly #models: ModelRegistry;
  readonly #log: Logger;
  readonly #repo: DocumentRepository;
  readonly #lexical: LexicalSearch;
  readonly #maxRetries: number;
  #engine: VectorEngine = "exact";
  /** The exact engine's in-memory vectors (with an embedding model, unless pgvector runs). */
  #index: VectorIndex | undefined;
  #ready: Promise<void> | undefined;

  constructor(opts: DocumentServiceOptions) {
    this.#store = opts.store;
    this.#models = opts.models;
    this.#log = opts.log;
    this.embeddingModel = opts.embeddingModel;
    this.#maxRetries = opts.maxRetries ?? 2;
    this.#repo = opts.store.documents;
    this.#lexical = lexicalSearch(opts.store);
  }

  /** Which vector engine runs (meaningful with an embedding model). */
  get vectorEngine(): VectorEngine {
    return this.#engine;
  }

  /**
   * Chooses the vector engine once (PostgreSQL: pgvector when the server has it) and says
   * which in a log line. Idempotent; ingest and search call it too.
   */
  init(): Promise<void> {
    this.#ready ??= (async () => {
      const model = this.embeddingModel;
      if (!model) {
        this.#log.info("documents: lexical search (no SWITCHYARD_EMBEDDING_MODEL)");
        return;
      }
      await this.#models.embedding(model); // a spec no provider can embed with fails the start
      this.#index = new VectorIndex(this.#store, model);
      if (this.#store.dialect === "postgres") {
        const r = await this.#store.vectors.setUpPgvector();
        this.#engine = r.engine;
        if (r.engine === "pgvector") {
          this.#index = undefined;
          this.#log.info(
            { embedding_model: model, moved: r.moved },
            "documents: hybrid search, vectors in pgvector",
          );
          return;
        }
        this.#log.info(
          { embedding_model: model, reason: r.reason },
          "documents: hybrid search, pgvector unavailable: vectors scanned exactly in the server",
        );
        return;
      }
      this.#log.info(
        { embedding_model: model },
        "documents: hybrid search, vectors scanned exactly in the server (SQLite)",
      );
    })();
    return this.#ready;
  }

  /**
   * Chunks, embeds (with an embedding model) and stores a document; searchable on return.
   * @throws InvalidInputError for blank or non-text content, a title that is not text, metadata
   *   that is not an object, or a NUL character in any of them; EmbeddingError when the
   *   embedding model fails (nothing is stored in either case)
   */
  async ingest(input: DocumentInput): Promise<DocumentRecord> {
    checkDocumentInput(input);
    await this.init();
    const doc: DocumentRecord = {
      id: uuidv7(),
      title: input.title ?? null,
      content: input.content,
      integrationId: input.integrationId ?? null,
      sessionId: input.sessionId ?? null,
      metadata: input.metadata ?? {},
      createdAt: Date.now(),
    };
    const chunks = chunkText(input.content);
    let target: EmbeddingTarget = { kind: "none" };
    if (this.embeddingModel && chunks.length) {
      const vectors = await this.#embedChunks(doc.title, chunks);
      target = {
        kind: this.#engine === "pgvector" ? "pgvector" : "bytes",
        model: this.embeddingModel,
        vectors,
      };
    }
    const written = await this.#repo.insert(doc, chunks, target);
    this.#index?.applyInsert(
      written.generation,
      target.kind === "bytes"
        ? chunks.map((c) => ({
            id: written.chunkIds[c.index]!,
            documentId: doc.id,
            integrationId: doc.integrationId,
            sessionId: doc.sessionId,
            vector: target.vectors[c.index]!,
          }))
        : [],
    );
    return doc;
  }

  /** The document, or undefined. */
  get(id: string): Promise<DocumentRecord | undefined> {
    return this.#repo.get(id);
  }

  /** Deletes a document with its chunks and embeddings; true when it existed. */
  async delete(id: string): Promise<boolean> {
    const r = await this.#repo.delete(id);
    if (r.existed) this.#index?.applyDelete(r.generation, r.chunkIds);
    return r.existed;
  }

  /** The best documents for `query.query`, each with its best chunk. */
  async search(query: DocumentSearchQuery): Promise<DocumentSearchResult> {
    await this.init();
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
    const filters: ChunkFilters = {
      integrationId: query.integrationId,
      sessionId: query.sessionId,
    };
    let warning: string | undefined;
    if (this.embeddingModel) {
      try {
        const vector = await this.#embedQuery(query.query);
        return { mode: "hybrid", results: await this.#hybrid(query.query, vector, filters, limit) };
      } catch (err) {
        if (!(err instanceof EmbeddingError)) throw err;
        warning = `Hybrid search unavailable, lexical results only: ${err.message}`;
        this.#log.warn({ err: err.message }, "documents: query embedding failed; lexical search");
      }
    }
    const results = await this.#lexicalDocuments(query.query, filters, limit);
    return warning ? { mode: "lexical", results, warning } : { mode: "lexical", results };
  }

  /** Lexical: the first `limit` distinct documents of the chunk ranking. */
  async #lexicalDocuments(
    q: string,
    filters: ChunkFilters,
    limit: number,
  ): Promise<DocumentSearchHit[]> {
    let n = limit * 4 + 20;
    for (;;) {
      const chunks = await this.#lexical.search(q, filters, n);
      const best = new Map<string, RankedChunk>();
      for (const c of chunks) if (!best.has(c.documentId)) best.set(c.documentId, c);
      // Fewer documents than asked while the list was full: more may follow; look deeper.
      if (best.size < limit && chunks.length === n && n < 10_000) {
        n *= 4;
        continue;
      }
      return this.#hydrate([...best.values()].slice(0, limit));
    }
  }

  async #hybrid(
    q: string,
    vector: Float32Array,
    filters: ChunkFilters,
    limit: number,
  ): Promise<DocumentSearchHit[]> {
    const depth = Math.max(50, limit * 5);
    const lists = await Promise.all([
      this.#lexical.search(q, filters, depth),
      this.#index
        ? this.#index.search(vector, filters, depth)
        : this.#store.vectors.search(vector, this.embeddingModel!, filters, depth),
    ]);
    const docScore = new Map<string, number>();
    const chunkScore = new Map<number, RankedChunk>();
    for (const list of lists) {
      const docRank = new Map<string, number>();
      list.forEach((c, i) => {
        const cs = chunkScore.get(c.chunkId) ?? { ...c, score: 0 };
        cs.score += 1 / (RRF_K + i + 1);
        chunkScore.set(c.chunkId, cs);
        if (!docRank.has(c.documentId)) docRank.set(c.documentId, docRank.size + 1);
      });
      for (const [d, rank] of docRank) docScore.set(d, (docScore.get(d) ?? 0) + 1 / (RRF_K + rank));
    }
    const bestChunk = new Map<string, RankedChunk>();
    for (const c of chunkScore.values()) {
      const b = bestChunk.get(c.documentId);
      if (!b || c.score > b.score) bestChunk.set(c.documentId, c);
    }
    const ranked = [...docScore.entries()]
      .sort(
        (a, b) =>
          b[1] - a[1] ||
          bestChunk.get(b[0])!.score - bestChunk.get(a[0])!.score ||
          (a[0] < b[0] ? -1 : 1),
      )
      .slice(0, limit)
      .map(([d, score]) => ({ ...bestChunk.get(d)!, score }));
    return this.#hydrate(ranked);
  }

  /** Adds document fields and chunk texts; drops documents deleted meanwhile. */
  async #hydrate(ranked: RankedChunk[]): Promise<DocumentSearchHit[]> {
    const [docs, chunks] = await Promise.all([
      this.#repo.summaries(ranked.map((r) => r.documentId)),
      this.#repo.chunks(ranked.map((r) => r.chunkId)),
    ]);
    const hits: DocumentSearchHit[] = [];
    for (const r of ranked) {
      const d = docs.get(r.documentId);
      const c = chunks.get(r.chunkId);
      if (!d || !c) continue;
      hits.push({
        documentId: d.id,
        title: d.title,
        integrationId: d.integrationId,
        sessionId: d.sessionId,
        metadata: d.metadata,
        createdAt: d.createdAt,
        score: r.score,
        chunk: c,
      });
    }
    return hits;
  }

  async #model(): Promise<EmbeddingModel> {
    try {
      return await this.#models.embedding(this.embeddingModel!);
    } catch (err) {
      throw new EmbeddingError((err as Error).message);
    }
  }

  /** Unit vectors for the chunks, in batches of {@link EMBED_BATCH}; the title leads each text. */
  async #embedChunks(title: string | null, chunks: Chunk[]): Promise<Float32Array[]> {
    const model = await this.#model();
    const { embedMany } = await import("ai"); // the AI SDK loads with the first embedding
    const texts = chunks.map((c) => (title ? `${title}\n\n${c.content}` : c.content));
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      const values = texts.slice(i, i + EMBED_BATCH);
      let embeddings: number[][];
      try {
        ({ embeddings } = await embedMany({ model, values, maxRetries: this.#maxRetries }));
      } catch (err) {
        throw new EmbeddingError(`Embedding model failed: ${describe(err)}`);
      }
      if (embeddings.length !== values.length) {
        throw new EmbeddingError(
          `Embedding model returned ${embeddings.length} vectors for ${values.length} texts`,
        );
      }
      for (const e of embeddings) out.push(this.#unit(e, out[0]?.length));
    }
    return out;
  }

  async #embedQuery(q: string): Promise<Float32Array> {
    const model = await this.#model();
    const { embed } = await import("ai");
    let embedding: number[];
    try {
      ({ embedding } = await embed({ model, value: q, maxRetries: this.#maxRetries }));
    } catch (err) {
      throw new EmbeddingError(`Embedding model failed: ${describe(err)}`);
    }
    return this.#unit(embedding);
  }

  #unit(e: number[], dims?: number): Float32Array {
    if (dims !== undefined && e.length !== dims) {
      throw new EmbeddingError(
        `Embedding model returned vectors of ${dims} and ${e.length} numbers`,
      );
    }
    try {
      return normalize(e);
    } catch (err) {
      throw new EmbeddingError(
        `Embedding model returned an unusable vector: ${(err as Error).message}`,
      );
    }
  }
}

function describe(err: unknown): string {
  const e = err as { message?: string; statusCode?: number; lastError?: unknown };
  if (e?.lastError) return describe(e.lastError);
  if (e?.statusCode) return `HTTP ${e.statusCode}: ${e.message ?? ""}`.trim();
  return e?.message ?? String(err);
}
