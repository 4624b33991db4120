/**
 * A stand-in for the run-time context an integration receives, for the CLI: it lets a
 * folder's router and dispatcher be built without a server, a database or the network.
 * Outbound calls are refused (never sent), and session/message calls throw.
 */

import { integrationVerify } from "../http/verify.ts";
import { integrationSign } from "../outbox/signing.ts";
import { integrationErrors } from "../sdk/errors.ts";
import type { OutboundResult } from "../sdk/http.ts";
import type { IntegrationContext, IntegrationLogger } from "../sdk/index.ts";

const silent: IntegrationLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silent,
};

function refused(): Promise<OutboundResult> {
  return Promise.resolve({
    ok: false,
    status: null,
    attempts: 0,
    retryable: false,
    error: "outbound HTTP is disabled in the switchyard CLI",
    durationMs: 0,
  });
}

function unavailable(what: string): never {
  throw new Error(`${what} is not available in the switchyard CLI (no server is running)`);
}

/**
 * A context for integration `name` that makes no network calls and touches no database.
 * @param settings the integration's resolved settings (default none)
 */
export function stubContext(
  name: string,
  settings: Record<string, string | undefined> = {},
): IntegrationContext {
  return {
    name,
    settings,
    log: silent,
    http: { postJson: refused, request: refused },
    verify: integrationVerify,
    sign: integrationSign,
    errors: integrationErrors,
    getOrCreateSession: async () => unavailable("getOrCreateSession"),
    injectMessage: async () => unavailable("injectMessage"),
    ingestDocument: async () => unavailable("ingestDocument"),
    searchDocuments: async () => unavailable("searchDocuments"),
    requireApiKey: () => async (_req, reply) => {
      await reply.code(401).send({ detail: "Unauthorized" });
    },
    state: {
      get: async () => unavailable("state.get"),
      set: async () => unavailable("state.set"),
    },
    exclusive: async () => unavailable("exclusive"),
  };
}
