/** `/api/v1/documents…`: ingest, read, delete and search documents. */
import { z } from "zod";
import type { DocumentService } from "../documents/service.ts";
import { EmbeddingError, MAX_LIMIT } from "../documents/service.ts";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import type { DocumentRecord, DocumentSearchHit } from "../sdk/documents.ts";

const idParams = z.object({ id: z.string().min(1) });
const label = z.string().min(1).max(512);

const ingestBody = z.strictObject({
  title: z.string().max(1000).nullable().optional(),
  content: z.string().refine((s) => s.trim().length > 0, "must not be empty"),
  integration_id: label.nullable().optional(),
  session_id: label.nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** The query of `GET /documents/search` (also the MCP tool `documents_search`'s input). */
export const searchQuery = z.object({
  q: z.string().refine((s) => s.trim().length > 0, "must not be empty"),
  integration_id: label.optional(),
  session_id: label.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(10),
});

/** The wire shape of a document (never its chunks or embeddings). */
export function documentJson(d: DocumentRecord) {
  return {
    id: d.id,
    title: d.title,
    content: d.content,
    integration_id: d.integrationId,
    session_id: d.sessionId,
    metadata: d.metadata,
    created_at: new Date(d.createdAt).toISOString(),
  };
}

/** The wire shape of a search hit: the document (without content), its best chunk, a score. */
export function searchHitJson(h: DocumentSearchHit) {
  return {
    id: h.documentId,
    title: h.title,
    integration_id: h.integrationId,
    session_id: h.sessionId,
    metadata: h.metadata,
    created_at: new Date(h.createdAt).toISOString(),
    score: h.score,
    chunk: h.chunk,
  };
}

/** What documentsApi needs. */
export interface DocumentsApiOptions {
  documents: DocumentService;
}

/** Registers the document routes. */
export const documentsApi = apiPlugin<DocumentsApiOptions>((routes, { documents }) => {
  routes.add({
    method: "POST",
    url: "/api/v1/documents",
    summary: "Ingest a document: chunked, indexed and (with an embedding model) embedded",
    scope: "documents:write",
    body: ingestBody,
    status: 201,
    async handler({ body }) {
      try {
        const doc = await documents.ingest({
          title: body.title,
          content: body.content,
          integrationId: body.integration_id,
          sessionId: body.session_id,
          metadata: body.metadata,
        });
        return documentJson(doc);
      } catch (err) {
        if (err instanceof EmbeddingError) throw new HttpError(502, err.message);
        throw err;
      }
    },
  });

  // A static path: Fastify matches it before the parametric `/:id` below.
  routes.add({
    method: "GET",
    url: "/api/v1/documents/search",
    summary:
      "Search documents: the best documents with their best chunk and a score; mode says lexical or hybrid",
    scope: "documents:read",
    query: searchQuery,
    async handler({ query }) {
      const r = await documents.search({
        query: query.q,
        integrationId: query.integration_id,
        sessionId: query.session_id,
        limit: query.limit,
      });
      return {
        mode: r.mode,
        results: r.results.map(searchHitJson),
        ...(r.warning ? { warning: r.warning } : {}),
      };
    },
  });

  routes.add({
    method: "GET",
    url: "/api/v1/documents/:id",
    summary: "A document",
    scope: "documents:read",
    params: idParams,
    async handler({ params }) {
      const d = await documents.get(params.id);
      if (!d) throw notFound("Document");
      return documentJson(d);
    },
  });

  routes.add({
    method: "DELETE",
    url: "/api/v1/documents/:id",
    summary: "Delete a document with its chunks and embeddings",
    scope: "documents:write",
    params: idParams,
    status: 204,
    async handler({ params }, reply) {
      if (!(await documents.delete(params.id))) throw notFound("Document");
      return reply.code(204).send();
    },
  });
});
