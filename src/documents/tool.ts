/** The core tool `search_documents`: document search for bots that list it in their tools. */
import type { AgentTool } from "../agent/tools.ts";
import type { DocumentService } from "./service.ts";

/** Largest `limit` the tool accepts (results go into the model's context). */
export const TOOL_MAX_LIMIT = 20;

/** The `search_documents` tool over `service`. */
export function searchDocumentsTool(service: DocumentService): AgentTool {
  return {
    name: "search_documents",
    description:
      "Search the documents stored in this server. Returns the best matching documents, " +
      "each with its most relevant passage. Use it to find facts before answering.",
    parameters: {
      type: "object",
      properties: {
        query: { type: "string", description: "What to look for, in words" },
        limit: {
          type: "integer",
          minimum: 1,
          maximum: TOOL_MAX_LIMIT,
          description: "How many documents to return (default 5)",
        },
        integration_id: {
          type: "string",
          description: "Only documents ingested by this integration",
        },
      },
      required: ["query"],
      additionalProperties: false,
    },
    async execute(args: { query?: unknown; limit?: unknown; integration_id?: unknown }) {
      if (typeof args.query !== "string" || !args.query.trim()) {
        throw new Error("query must be a non-empty string");
      }
      const limit =
        typeof args.limit === "number" && Number.isFinite(args.limit)
          ? Math.min(Math.max(Math.trunc(args.limit), 1), TOOL_MAX_LIMIT)
          : 5;
      const r = await service.search({
        query: args.query,
        limit,
        integrationId: typeof args.integration_id === "string" ? args.integration_id : undefined,
      });
      return {
        mode: r.mode,
        results: r.results.map((h) => ({
          document_id: h.documentId,
          title: h.title,
          integration_id: h.integrationId,
          score: h.score,
          passage: h.chunk.content,
        })),
      };
    },
  };
}
