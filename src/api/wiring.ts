/**
 * What each REST resource of `mountApi` (./index.ts) is given, taken from a built {@link App}:
 * the services, the store and the workers it reads or pokes; and the mounting of every
 * route (REST, attachments, MCP over HTTP) on the server. app.ts calls this.
 */
import type { App } from "../app.ts";
import { mountAttachmentsApi } from "../attachments/wiring.ts";
import { mountMcpHttp } from "../mcp/http.ts";
import type { AppTuning } from "../tuning.ts";
import { VERSION } from "../version.ts";
import { type ApiDeps, mountApi } from "./index.ts";

/**
 * Mounts the REST API (one Fastify plugin per resource), the attachment routes and MCP over
 * HTTP (`/mcp`, which reads {@link App.mcpServices} per request) on `app.server`.
 * @param o as for {@link apiDeps}
 */
export function mountRoutes(
  app: App,
  o: { tuning: Pick<AppTuning, "streamPollMs">; url: () => string | undefined },
): void {
  mountApi(app.server, apiDeps(app, o));
  mountAttachmentsApi(app.server, {
    auth: app.auth,
    store: app.store,
    attachments: app.attachments,
  });
  mountMcpHttp(app.server, app.auth, () => app.mcpServices, VERSION);
}

/**
 * The REST API's dependencies.
 * @param o.url the listening base URL once known (the integrations page's webhook URLs
 *   fall back to `http://HOST:PORT` before)
 */
export function apiDeps(
  app: App,
  o: { tuning: Pick<AppTuning, "streamPollMs">; url: () => string | undefined },
): ApiDeps {
  const { tuning } = o;
  const baseUrl = o.url;
  return {
    auth: app.auth,
    system: { store: app.store, metrics: app.metrics, version: VERSION },
    sessions: { store: app.store, sessions: app.sessions },
    tasks: {
      store: app.store,
      abortLocal: (id) => app.taskWorker.abortLocal(id),
      onCancelled: (id, by) => app.approvals.settleForTask(id, by),
    },
    jobs: { store: app.store, jobs: app.jobs, runner: app.jobRunner },
    webhooks: { services: () => app.outbound },
    deliveries: {
      store: app.store,
      poke: () => app.deliveryWorker.poke(),
      breakers: () => app.deliveryWorker.destinations(),
    },
    notifications: {
      notifications: () => app.notifications,
      channels: () => app.notifiers.channels(),
      git: () => app.gitAutoCommit,
    },
    state: { state: () => app.outbound.state() },
    documents: { documents: app.documents },
    skills: { skills: app.skills },
    adminBots: {
      store: app.store,
      defaultModel: app.config.SWITCHYARD_MODEL,
      runtimeProviders: () => app.runtime.providerNames(),
    },
    adminIntegrations: {
      integrations: () => app.integrations,
      processes: () => app.processes,
      adapterStatus: (name) => app.adapters.statusOf(name),
      baseUrl: () => baseUrl() ?? `http://${app.config.HOST}:${app.config.PORT}`,
    },
    home: { store: app.store, version: VERSION, apiKey: app.apiKey },
    adminKeys: { store: app.store, keys: app.auth },
    adminChannels: { store: app.store },
    sessionStream: { store: app.store },
    authSession: { sessionMs: app.config.SWITCHYARD_UI_SESSION_HOURS * 3_600_000 },
    liveStream: {
      store: app.store,
      integrations: () => app.integrations,
      processes: () => app.processes,
      adapterStatus: (name) => app.adapters.statusOf(name),
      pollMs: tuning.streamPollMs,
    },
    adminModels: { modelCheck: app.modelCheck },
    adminTools: { tools: app.tools },
    adminInstances: { store: app.store, heartbeatMs: app.heartbeat.intervalMs },
    approvals: { store: app.store, approvals: app.approvals },
  };
}
