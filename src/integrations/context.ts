/**
 * The run-time context handed to an integration's modules (`ctx`): everything an
 * integration needs, so it imports nothing from `src/` at run time.
 */
import type { Logger } from "pino";
import type { DocumentService } from "../documents/service.ts";
import type { ApiKeyAuth } from "../http/auth.ts";
import { integrationVerify } from "../http/verify.ts";
import type { LeaseService } from "../leases/exclusive.ts";
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import { integrationSign } from "../outbox/signing.ts";
import { integrationErrors } from "../sdk/errors.ts";
import type { IntegrationContext } from "../sdk/index.ts";
import type { SessionService } from "../sessions/service.ts";
import type { IntegrationKvRepository } from "../store/integration-kv.ts";

/** The server services a context is built from. */
export interface IntegrationContextDeps {
  log: Logger;
  http: OutboundHttpClient;
  /** Sessions: ctx.getOrCreateSession and ctx.injectMessage call it (and throw its errors). */
  sessions: SessionService;
  documents: DocumentService;
  auth: ApiKeyAuth;
  /** ctx.state: the integrations' key → JSON value store. */
  state: IntegrationKvRepository;
  /** ctx.exclusive: named leases. */
  leases: LeaseService;
}

/**
 * Builds the context of integration `name`.
 * @param settings its live settings object (updated in place when settings change)
 */
export function createIntegrationContext(
  deps: IntegrationContextDeps,
  name: string,
  settings: Record<string, string | undefined>,
): IntegrationContext {
  return {
    name,
    settings,
    log: deps.log.child({ integration: name }),
    http: deps.http,
    verify: integrationVerify,
    sign: integrationSign,
    errors: integrationErrors,
    getOrCreateSession: async (clientId, opts = {}) => {
      const { session, created } = await deps.sessions.getOrCreate(
        opts.botId ?? "default",
        clientId,
        opts.dispatchConfig,
      );
      return { sessionId: session.id, created };
    },
    injectMessage: (sessionId, content, opts = {}) =>
      deps.sessions.injectMessage(sessionId, {
        content,
        role: opts.role,
        source: opts.source ?? name,
        metadata: opts.metadata,
        runAgent: opts.runAgent,
        executionConfig: opts.executionConfig,
        dispatchConfig: opts.dispatch,
        maxRunSeconds: opts.maxRunSeconds,
        dedupeKey: opts.dedupeKey,
      }),
    ingestDocument: (doc) =>
      deps.documents.ingest({
        ...doc,
        integrationId: doc.integrationId === undefined ? name : doc.integrationId,
      }),
    searchDocuments: (query) => deps.documents.search(query),
    requireApiKey: (scope) => async (req) => {
      await deps.auth.require(req, scope);
    },
    state: {
      get: (key) => deps.state.get(name, key),
      set: (key, value) => deps.state.set(name, key, value),
    },
    exclusive: (lease, run, opts) => deps.leases.run(`${name}/${lease}`, run, opts),
  };
}
