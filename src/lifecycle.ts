/**
 * The server's lifecycle order: what is opened before the parts app.ts builds exist, what
 * is loaded once they do, which part starts before which, and how a shutdown hands work
 * back and drains in order. app.ts calls these.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { envDefaultBot } from "./agent/bot-models.ts";
import type { App } from "./app.ts";
import type { Config } from "./config.ts";
import { type ApiKeyInfo, ensureApiKey } from "./http/api-key-setup.ts";
import { closeServer, listen } from "./http/server.ts";
import { jobSources, syncJobs } from "./scheduler/sync.ts";
import { Store } from "./store/index.ts";

/**
 * Opens the store in the data dir (created if missing; migrations run), creates or updates
 * the env-owned `default` bot (it follows SWITCHYARD_MODEL at every start until it is edited
 * through the admin API) and creates the API key on first start. A lost pool connection is
 * logged, not thrown. The store is closed again when a step after opening fails.
 * @throws Error when the database cannot be opened, or the bot or key cannot be written
 */
export async function openStore(
  config: Config,
  log: Logger,
): Promise<{ store: Store; apiKey: ApiKeyInfo }> {
  mkdirSync(config.dataDir, { recursive: true });
  const store = await Store.open(config.databaseUrl, {
    secretKey: config.SWITCHYARD_SECRET_KEY,
    onPoolError: (err) =>
      log.warn({ err: err.message }, "database connection lost; the pool replaces it"),
  });
  try {
    await store.bots.syncFromEnv(envDefaultBot(config.SWITCHYARD_MODEL));
    return { store, apiKey: await ensureApiKey(store, config) };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The parts {@link loadApp} loads into. */
export type LoadingParts = Pick<
  App,
  | "config"
  | "log"
  | "store"
  | "documents"
  | "integrations"
  | "integrationSources"
  | "server"
  | "syncSkills"
  | "jobs"
>;

/**
 * Loads what the built server runs with, in order: the document index, the integrations
 * (from each of {@link App.integrationSources}; the workspace's `integrations/` folder is
 * created first), the tool dirs, then the skills and the jobs the integrations carry.
 * Nothing listens yet.
 * @throws Error when the document index or an integration cannot be loaded
 */
export async function loadApp(app: LoadingParts): Promise<void> {
  const { config } = app;
  await app.documents.init();
  mkdirSync(join(config.workspaceDir, "integrations"), { recursive: true });
  await app.integrations.loadAll(app.integrationSources(), app.server);
  await app.integrations.loadToolDirs(config.toolDirs);
  await app.syncSkills();
  await syncJobs(app.jobs, app.store, jobSources(app.integrations.list()), app.log);
}

/** The parts {@link startApp} starts, in its order. */
export type StartingParts = Pick<
  App,
  | "config"
  | "telemetry"
  | "server"
  | "heartbeat"
  | "deliveryWorker"
  | "taskWorker"
  | "approvals"
  | "scheduler"
  | "wakeups"
  | "adapters"
>;

/**
 * Starts telemetry, listens on HOST:PORT (PORT 0 picks a free port), then starts the
 * heartbeat, the workers, the wake-up bus and, last, the adapters.
 * @param onListening told the base URL (e.g. `http://127.0.0.1:8080`) as soon as the
 *   server listens, before the workers start
 * @returns the base URL
 * @throws Error when the server cannot listen (e.g. the port is taken)
 */
export async function startApp(
  app: StartingParts,
  onListening: (url: string) => void,
): Promise<string> {
  await app.telemetry.start();
  const url = await listen(app.server, app.config.HOST, app.config.PORT);
  onListening(url);
  await app.heartbeat.start();
  app.deliveryWorker.start();
  app.taskWorker.start();
  app.approvals.start();
  app.scheduler.start();
  app.wakeups.start();
  await app.adapters.startAll();
  return url;
}

/** The parts {@link stopApp} stops, in its order. */
export type StoppingParts = Pick<
  App,
  | "scheduler"
  | "adapters"
  | "leases"
  | "taskWorker"
  | "server"
  | "processes"
  | "approvals"
  | "runtime"
  | "wakeups"
  | "gitAutoCommit"
  | "events"
  | "hookWebhooks"
  | "deliveryWorker"
  | "http"
  | "heartbeat"
  | "attachments"
  | "store"
  | "telemetry"
>;

/**
 * Stops cleanly: no new requests or claims; requests in flight and running tasks get the
 * grace period (then connections are cut, tasks aborted and their leases given back),
 * sends in flight finish, the database closes. Leases (`ctx.exclusive` runs, singleton
 * processes) are given back early, right after the adapters stop, so another instance
 * takes that work over at once rather than after the leases expire. Call it once (App.stop
 * makes that so).
 * @param graceMs how long requests in flight and running tasks may take before they are cut
 */
export async function stopApp(app: StoppingParts, graceMs: number): Promise<void> {
  await app.scheduler.stop();
  await app.adapters.stopAll();
  // Aborts every remaining exclusive run (a singleton process's child is stopped by its
  // own) and releases the leases, alongside the grace period rather than before it.
  const leasesGiven = app.leases.stop();
  const tasksStopped = app.taskWorker.stop(graceMs);
  await closeServer(app.server, graceMs);
  await app.processes.stopAll();
  await leasesGiven;
  await tasksStopped;
  await app.approvals.stop();
  await app.runtime.stop();
  // Tasks given back at shutdown: another instance starts them now, not on its next poll.
  app.wakeups.tell("task");
  // Commits first: a failed one emits an `error` event, which the drain then sends.
  await app.gitAutoCommit.idle();
  await app.events.drain();
  await app.hookWebhooks.drain();
  await app.deliveryWorker.stop();
  await app.wakeups.stop();
  await app.http.close();
  await app.heartbeat.stop();
  await app.attachments.close();
  await app.store.close();
  await app.telemetry.stop(); // exports the spans still buffered
}
