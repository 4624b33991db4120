/**
 * Builds the integration manager of a server: the registries an integration folder adds
 * to (tools, dispatchers, notifiers, runtimes, hooks, adapters), its processes and the
 * `ctx` each folder gets. app.ts calls this once the services it names exist.
 */
import type { App } from "../app.ts";
import type { AppTuning } from "../tuning.ts";
import { createIntegrationContext } from "./context.ts";
import { IntegrationManager } from "./manager.ts";

/**
 * The integration manager over `app`'s registries and services.
 * @param tuning `startProcesses: false` leaves integration processes unstarted (tests)
 */
export function createIntegrations(
  app: Pick<
    App,
    | "tools"
    | "dispatchers"
    | "notifiers"
    | "runtime"
    | "hooks"
    | "log"
    | "config"
    | "store"
    | "processes"
    | "adapters"
    | "http"
    | "sessions"
    | "documents"
    | "auth"
    | "leases"
  >,
  tuning: Pick<AppTuning, "startProcesses">,
): IntegrationManager {
  return new IntegrationManager({
    tools: app.tools,
    dispatchers: app.dispatchers,
    notifiers: app.notifiers,
    runtimes: app.runtime.registry,
    hooks: app.hooks,
    log: app.log,
    env: app.config.env,
    settingsStore: app.store.integrationSettings,
    processes: tuning.startProcesses === false ? undefined : app.processes,
    adapters: app.adapters,
    makeContext: (name, settings) =>
      createIntegrationContext(
        {
          log: app.log,
          http: app.http,
          sessions: app.sessions,
          documents: app.documents,
          auth: app.auth,
          state: app.store.integrationKv,
          leases: app.leases,
        },
        name,
        settings,
      ),
  });
}
