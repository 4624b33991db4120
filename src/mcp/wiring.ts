/**
 * What the MCP tools (over HTTP and stdio) are given, taken from a built {@link App}: the
 * same services REST calls. app.ts calls this.
 */
import type { App } from "../app.ts";
import type { McpServices } from "./server.ts";

/** The MCP tools' services: outbound, core (sessions, documents), jobs and approvals. */
export function mcpServices(
  app: Pick<
    App,
    "outbound" | "sessions" | "documents" | "store" | "jobs" | "jobRunner" | "approvals"
  >,
): McpServices {
  return {
    outbound: app.outbound,
    core: { sessions: app.sessions, documents: app.documents, store: app.store },
    jobs: { jobs: app.jobs, runner: app.jobRunner, store: app.store },
    approvals: { store: app.store, approvals: app.approvals },
  };
}
