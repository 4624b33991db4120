/**
 * Builds the server's document service (lexical search, plus vectors when
 * `SWITCHYARD_EMBEDDING_MODEL` is set) and registers its `search_documents` tool as a core
 * tool. app.ts calls this; the index is initialised at load (`DocumentService.init`).
 */
import type { Logger } from "pino";
import type { ModelRegistry } from "../agent/models.ts";
import type { ToolRegistry } from "../agent/tools.ts";
import type { Config } from "../config.ts";
import type { Store } from "../store/index.ts";
import type { AppTuning } from "../tuning.ts";
import { DocumentService } from "./service.ts";
import { searchDocumentsTool } from "./tool.ts";

/** What {@link createDocuments} needs. */
export interface DocumentWiring {
  config: Pick<Config, "SWITCHYARD_EMBEDDING_MODEL">;
  tuning: Pick<AppTuning, "llmMaxRetries">;
  store: Store;
  models: ModelRegistry;
  log: Logger;
  tools: ToolRegistry;
}

/** The document service, its search tool registered on `w.tools`. */
export function createDocuments(w: DocumentWiring): DocumentService {
  const documents = new DocumentService({
    store: w.store,
    models: w.models,
    embeddingModel: w.config.SWITCHYARD_EMBEDDING_MODEL,
    log: w.log,
    maxRetries: w.tuning.llmMaxRetries,
  });
  w.tools.register(searchDocumentsTool(documents));
  return documents;
}
