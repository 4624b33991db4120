/**
 * `switchyard integrations list`: the integrations the server would load, with the same
 * statuses, found and loaded the same way (the real {@link IntegrationManager}), but with
 * no listening server, no database and no network: routers are mounted on a throwaway
 * Fastify instance and every module gets a stub context. Settings resolve as the server
 * resolves them: values stored through the admin API (read from the configured database,
 * decrypted with `SWITCHYARD_SECRET_KEY`), then the environment (and `.env`), then defaults.
 * A SQLite database file that does not exist yet is not created; a database that cannot be
 * opened is reported on stderr and the settings then resolve without it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import Fastify from "fastify";
import pino from "pino";
import { ToolRegistry } from "../agent/tools.ts";
import type { Config } from "../config.ts";
import { DispatcherRegistry } from "../dispatch/registry.ts";
import { NotifierRegistry } from "../events/notifier-registry.ts";
import { HookRegistry } from "../hooks/lifecycle.ts";
import { integrationSources } from "../integrations/discovery.ts";
import { relativeToFolder } from "../integrations/loader.ts";
import { IntegrationManager, type IntegrationRecord } from "../integrations/manager.ts";
import { Store } from "../store/index.ts";
import type { IntegrationSettingsRepository } from "../store/integration-settings.ts";
import { apiKeyOf, localServerUrl } from "./server-api.ts";
import { stubContext } from "./stub-context.ts";

/** The parts of {@link Config} that decide where integrations come from. */
export type SourceConfig = Pick<Config, "integrationDirs" | "workspaceDir">;

/** The workspace's `integrations/` folder: the last source, and where `new integration` writes. */
export function workspaceIntegrationsDir(config: Pick<Config, "workspaceDir">): string {
  return join(config.workspaceDir, "integrations");
}

/**
 * Discovers and loads every integration from `sources` exactly as the server does, with
 * a stub context and an unstarted Fastify instance. Nothing is started, stored or sent.
 * @param env the environment the settings resolve from
 * @param settingsStore settings stored through the admin API (they win over `env`), if any
 */
export async function loadIntegrationRecords(
  sources: string[],
  env: Record<string, string | undefined>,
  settingsStore?: IntegrationSettingsRepository,
): Promise<IntegrationRecord[]> {
  const log = pino({ level: "silent" });
  const manager = new IntegrationManager({
    tools: new ToolRegistry(),
    dispatchers: new DispatcherRegistry(log),
    notifiers: new NotifierRegistry(),
    hooks: new HookRegistry(log),
    log,
    env,
    settingsStore,
    makeContext: (name, settings) => stubContext(name, settings),
  });
  const server = Fastify({ logger: false });
  try {
    return await manager.loadAll(sources, server);
  } finally {
    await server.close().catch(() => {});
  }
}

/**
 * The configured database, for its stored settings; undefined (with a note on stderr when
 * it exists but cannot be opened) when there is none to read. A SQLite file that does not
 * exist is not created.
 */
export async function openSettingsStore(
  config: Pick<Config, "databaseUrl" | "SWITCHYARD_SECRET_KEY">,
): Promise<Store | undefined> {
  const url = config.databaseUrl;
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length);
    if (path === ":memory:" || !existsSync(path)) return undefined;
  }
  try {
    return await Store.open(url, { secretKey: config.SWITCHYARD_SECRET_KEY, poolSize: 1 });
  } catch (err) {
    process.stderr.write(
      `note: cannot read settings stored through the admin API (${(err as Error).message}); showing the environment's\n`,
    );
    return undefined;
  }
}

/** Required settings of `r` that have no value. */
export function missingSettings(r: IntegrationRecord): string[] {
  return r.settings.filter((s) => s.spec.required && s.value === undefined).map((s) => s.spec.key);
}

/** An adapter's run-time state as the running server's admin API reports it. */
export interface LiveAdapterState {
  state: string;
  error: string | null;
  failures: number;
  next_retry_at: string | null;
}

/**
 * What the running server says about each folder's adapter (`GET /api/v1/admin/integrations`
 * with the API key, 1 s time limit), by folder; undefined when no server answers there
 * (not running, another port, no key, or the key lacks the admin scope).
 */
export async function liveAdapterStates(
  config: Pick<Config, "HOST" | "PORT" | "SWITCHYARD_API_KEY" | "dataDir">,
): Promise<Map<string, LiveAdapterState | null> | undefined> {
  const key = apiKeyOf(config);
  if (!key) return undefined;
  try {
    const res = await fetch(`${localServerUrl(config)}/api/v1/admin/integrations`, {
      headers: { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(1000),
    });
    if (!res.ok) return undefined;
    const list = (await res.json()) as { folder: string; adapter: LiveAdapterState | null }[];
    return new Map(list.map((i) => [i.folder, i.adapter]));
  } catch {
    return undefined;
  }
}

/** One line on an adapter's run-time state, e.g. `failed (3 tries): <reason>; next try at …`. */
function adapterLine(a: LiveAdapterState): string {
  if (a.state !== "failed") return a.state;
  const next = a.next_retry_at ? `; next try at ${a.next_retry_at}` : "";
  return `failed (${a.failures} ${a.failures === 1 ? "try" : "tries"}): ${a.error ?? "unknown error"}${next}`;
}

/**
 * The table `integrations list` prints: one row per integration (name, status, parts,
 * folder), followed by indented lines for its load errors and warnings (`file: reason`), missing
 * required settings, the folders it overrides and, for a folder with an adapter, the
 * adapter's state in the running server (`live`; "server not running" when undefined).
 */
export function formatIntegrationTable(
  records: IntegrationRecord[],
  live?: Map<string, LiveAdapterState | null>,
): string {
  const rows = records.map((r) => [r.name, r.status, r.parts.join(", ") || "-", r.dir]);
  const header = ["NAME", "STATUS", "PARTS", "FOLDER"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [line(header)];
  records.forEach((r, i) => {
    out.push(line(rows[i]!));
    for (const e of r.errors) out.push(`    error: ${relativeToFolder(r, e.file)}: ${e.reason}`);
    for (const w of r.warnings)
      out.push(`    warning: ${relativeToFolder(r, w.file)}: ${w.reason}`);
    for (const key of missingSettings(r)) out.push(`    missing required setting: ${key}`);
    for (const o of r.overrides) out.push(`    overrides: ${o}`);
    if (r.parts.includes("adapter")) {
      const a = live?.get(r.name);
      out.push(
        `    adapter: ${
          a
            ? adapterLine(a)
            : live
              ? "not registered in the running server"
              : "state unknown (no server answering at HOST:PORT)"
        }`,
      );
    }
  });
  return `${out.join("\n")}\n`;
}

/**
 * The `integrations list` command: prints the table to stdout (and a note on stderr for
 * each `INTEGRATION_DIRS` entry that does not exist).
 * @returns the exit code (always 0: a broken integration is reported, not fatal)
 */
export async function integrationsList(
  config: SourceConfig &
    Pick<
      Config,
      | "env"
      | "databaseUrl"
      | "SWITCHYARD_SECRET_KEY"
      | "HOST"
      | "PORT"
      | "SWITCHYARD_API_KEY"
      | "dataDir"
    >,
): Promise<number> {
  const sources = integrationSources(config);
  for (const dir of config.integrationDirs) {
    if (!existsSync(dir)) process.stderr.write(`note: INTEGRATION_DIRS entry not found: ${dir}\n`);
  }
  const store = await openSettingsStore(config);
  let records: IntegrationRecord[];
  try {
    records = await loadIntegrationRecords(sources, config.env, store?.integrationSettings);
  } finally {
    await store?.close();
  }
  if (records.length === 0) {
    process.stdout.write(`No integrations found in:\n${sources.map((s) => `  ${s}\n`).join("")}`);
    return 0;
  }
  const live = records.some((r) => r.parts.includes("adapter"))
    ? await liveAdapterStates(config)
    : undefined;
  process.stdout.write(formatIntegrationTable(records, live));
  return 0;
}
