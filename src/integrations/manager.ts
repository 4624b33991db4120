/**
 * The integration manager: discovers folders, loads them, and registers what they define
 * with the core registries: tools, dispatchers, notification channels, lifecycle hooks,
 * adapters, and routers mounted at
 * `/integrations/<name>/`. Registration is keyed by integration, so loading a folder again
 * replaces its earlier definitions instead of adding to them.
 */
import { existsSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { ToolRegistry } from "../agent/tools.ts";
import type { DispatcherRegistry } from "../dispatch/registry.ts";
import type { NotifierRegistry } from "../events/notifier-registry.ts";
import type { HookRegistry } from "../hooks/lifecycle.ts";
import { type RuntimeRegistry, registerIntegrationRuntime } from "../runtime/registry.ts";
import type { LifecycleEvent } from "../sdk/hooks.ts";
import type {
  Adapter,
  IntegrationContext,
  IntegrationMeta,
  RouterDefinition,
} from "../sdk/index.ts";
import { SCOPES } from "../sdk/scopes.ts";
import type { IntegrationSettingsRepository } from "../store/integration-settings.ts";
import {
  type DiscoveredFolder,
  discoverIntegrations,
  listFiles,
  MODULE_EXTENSIONS,
} from "./discovery.ts";
import {
  type LoadError,
  type LoadedIntegration,
  type LoadedTool,
  loadIntegration,
  loadToolFile,
  relativeToFolder,
} from "./loader.ts";
import type { ProcessSupervisor } from "./processes.ts";
import { type ResolvedSetting, resolveSettings, settingsObject } from "./settings.ts";

/** Status of an integration, as the admin API and CLI show it. */
export type IntegrationStatus = "ready" | "partial" | "not_configured" | "error";

/** A loaded integration with its registration outcome. */
export interface IntegrationRecord extends LoadedIntegration {
  settings: ResolvedSetting[];
  /** The live `ctx.settings` object handed to the integration (updated in place). */
  settingsValues: Record<string, string | undefined>;
  status: IntegrationStatus;
  meta: IntegrationMeta | null;
}

/** What the manager needs from the server. */
export interface IntegrationManagerDeps {
  tools: ToolRegistry;
  dispatchers: DispatcherRegistry;
  /** Notification channels: each `notifier.ts` is registered here. */
  notifiers: NotifierRegistry;
  /** Runtime providers: each `runtime.ts` is registered here under the folder's name. */
  runtimes?: RuntimeRegistry;
  hooks: HookRegistry;
  log: Logger;
  env: Record<string, string | undefined>;
  /** Settings stored through the admin API (win over the environment); absent in the CLI. */
  settingsStore?: IntegrationSettingsRepository;
  /**
   * The adapter host: gets each integration's adapter (built from its `adapter.ts`); absent
   * in the CLI, where adapters are built and their routes mounted but nothing starts.
   */
  adapters?: {
    register(
      integration: string,
      adapter: Adapter,
      opts: {
        settings: Record<string, string | undefined>;
        configured: () => boolean;
        userAttribution?: () => IntegrationMeta["user_attribution"];
      },
    ): void;
    unregister(integration: string): Promise<void>;
  };
  /** Runs integrations' background processes; absent when nothing should be started. */
  processes?: ProcessSupervisor;
  /** Builds the run-time context handed to an integration's modules. */
  makeContext(name: string, settings: Record<string, string | undefined>): IntegrationContext;
}

/** Discovers, loads and registers integrations. */
export class IntegrationManager {
  readonly #deps: IntegrationManagerDeps;
  readonly #records = new Map<string, IntegrationRecord>();
  readonly #toolOwners = new Map<string, string>();

  constructor(deps: IntegrationManagerDeps) {
    this.#deps = deps;
  }

  /** Every integration loaded so far, by name. */
  list(): IntegrationRecord[] {
    return [...this.#records.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One integration by name. */
  get(name: string): IntegrationRecord | undefined {
    return this.#records.get(name);
  }

  /**
   * Discovers every folder in `sources` (later overrides earlier), loads and registers each.
   * Routers are mounted on `server` (call before it listens). Never throws for a bad folder.
   */
  async loadAll(sources: string[], server: FastifyInstance): Promise<IntegrationRecord[]> {
    const folders = discoverIntegrations(sources, (dir) =>
      this.#deps.log.warn({ dir }, "integration source directory not found; skipped"),
    );
    for (const f of folders) await this.load(f, server);
    return this.list();
  }

  /**
   * Registers the tools of every file in each `TOOL_DIRS` directory (`_` files skipped).
   * Their `ctx.integration` is a context named `tools` with no settings.
   * @returns the files that failed, with their reasons (also logged)
   */
  async loadToolDirs(dirs: string[]): Promise<LoadError[]> {
    const errors: LoadError[] = [];
    const ctx = this.#deps.makeContext("tools", {});
    for (const dir of dirs) {
      if (!existsSync(dir)) {
        this.#deps.log.warn({ dir }, "TOOL_DIRS entry not found; skipped");
        continue;
      }
      for (const file of listFiles(dir, ".", MODULE_EXTENSIONS)) {
        try {
          for (const t of await loadToolFile(file, true)) this.#registerTool(t, ctx, "tool-dirs");
        } catch (err) {
          errors.push({ file, reason: (err as Error)?.message ?? String(err) });
          this.#deps.log.error({ file, reason: (err as Error)?.message }, "tool file skipped");
        }
      }
    }
    return errors;
  }

  /** Loads one folder and (re)registers it. */
  async load(folder: DiscoveredFolder, server?: FastifyInstance): Promise<IntegrationRecord> {
    const fresh = this.#records.has(folder.name);
    const loaded = await loadIntegration(folder, fresh);
    this.#unregister(folder.name);
    const stored =
      (await this.#deps.settingsStore?.get(folder.name, (key, err) =>
        this.#deps.log.error(
          { integration: folder.name, key, reason: err.message },
          "stored setting unreadable",
        ),
      )) ?? {};
    const resolved = resolveSettings(loaded.setup, this.#deps.env, stored);
    const settingsValues = settingsObject(resolved);
    const ctx = this.#deps.makeContext(folder.name, settingsValues);
    const record: IntegrationRecord = {
      ...loaded,
      settings: resolved,
      settingsValues,
      status: "ready",
      meta: null,
    };
    this.#registerTools(record, ctx);
    this.#registerDispatcher(record, ctx);
    this.#registerNotifier(record, ctx);
    const runtimeProblem =
      record.runtime &&
      registerIntegrationRuntime(this.#deps.runtimes, record.name, record.runtime, ctx);
    if (runtimeProblem) {
      record.parts = record.parts.filter((p) => p !== "runtime");
      record.errors.push({ file: `${record.dir}/runtime`, reason: runtimeProblem });
    }
    this.#registerHooks(record);
    if (record.router && server)
      await this.#mountRouter(record, ctx, server, record.router, "router");
    await this.#registerAdapter(record, ctx, server);
    if (record.process && this.#deps.processes) {
      await this.#deps.processes.add(record.name, record.process, settingsValues, record.dir);
    }
    record.status = statusOf(record);
    this.#records.set(folder.name, record);
    for (const e of record.errors) {
      this.#deps.log.error(
        { integration: record.name, file: relativeToFolder(record, e.file), reason: e.reason },
        "integration part skipped",
      );
    }
    return record;
  }

  /**
   * Stores settings of `name` (`""` deletes a stored value) and applies them at once: the
   * integration's `ctx.settings` is updated in place and its process restarted with them.
   * @throws UnknownSettingError naming keys its setup.ts does not declare
   */
  async updateSettings(name: string, values: Record<string, string>): Promise<IntegrationRecord> {
    const record = this.#records.get(name);
    if (!record) throw new Error(`Unknown integration: ${name}`);
    const store = this.#deps.settingsStore;
    if (!store) throw new Error("Settings cannot be stored here");
    const declared = new Set((record.setup?.env_vars ?? []).map((v) => v.key));
    const unknown = Object.keys(values).filter((k) => !declared.has(k));
    if (unknown.length) throw new UnknownSettingError(unknown, [...declared]);
    await store.put(name, values);
    record.settings = resolveSettings(record.setup, this.#deps.env, await store.get(name));
    Object.assign(record.settingsValues, settingsObject(record.settings));
    record.status = statusOf(record);
    if (record.process && this.#deps.processes) {
      await this.#deps.processes.add(
        record.name,
        record.process,
        record.settingsValues,
        record.dir,
      );
    }
    return record;
  }

  #unregister(name: string): void {
    const source = `integration:${name}`;
    this.#deps.hooks.unregisterSource(source);
    for (const [tool, owner] of this.#toolOwners) {
      if (owner === name) {
        this.#deps.tools.unregister(tool);
        this.#toolOwners.delete(tool);
      }
    }
    this.#deps.dispatchers.unregisterSource(source);
    this.#deps.notifiers.unregisterSource(source);
    this.#deps.runtimes?.unregisterSource(source);
    void this.#deps.adapters?.unregister(name);
  }

  #registerTools(record: IntegrationRecord, ctx: IntegrationContext): void {
    for (const t of record.tools) {
      try {
        this.#registerTool(t, ctx, record.name);
      } catch (err) {
        record.errors.push({ file: t.file, reason: (err as Error).message });
      }
    }
  }

  /** Registers one tool owned by `owner`; a name clash is logged with both sources. */
  #registerTool(t: LoadedTool, ctx: IntegrationContext, owner: string): void {
    const previous = this.#deps.tools.register(
      {
        name: t.name,
        description: t.description,
        parameters: t.parameters,
        execute: (args, toolCtx) => t.execute(args, { ...toolCtx, integration: ctx }),
      },
      t.file,
    );
    if (previous && previous !== t.file) {
      this.#deps.log.warn(
        { tool: t.name, previous, now: t.file },
        "tool name clash: the later source wins",
      );
    }
    this.#toolOwners.set(t.name, owner);
  }

  #registerDispatcher(record: IntegrationRecord, ctx: IntegrationContext): void {
    if (!record.dispatcher) return;
    try {
      this.#deps.dispatchers.register(
        record.name,
        record.dispatcher(ctx),
        `integration:${record.name}`,
      );
    } catch (err) {
      record.parts = record.parts.filter((p) => p !== "dispatcher");
      record.errors.push({ file: `${record.dir}/dispatcher`, reason: (err as Error).message });
    }
  }

  /**
   * Builds the notifier of `notifier.ts` and registers it as the notification channel
   * `notifier.channel ?? <name>`; a failure drops the `notifier` part with its reason.
   */
  #registerNotifier(record: IntegrationRecord, ctx: IntegrationContext): void {
    if (!record.notifier) return;
    try {
      const notifier = record.notifier(ctx);
      if (!notifier || typeof notifier !== "object") {
        throw new Error("must return a Notifier object");
      }
      const channel = notifier.channel ?? record.name;
      this.#deps.notifiers.register(channel, notifier, `integration:${record.name}`);
    } catch (err) {
      record.parts = record.parts.filter((p) => p !== "notifier");
      record.errors.push({
        file: `${record.dir}/notifier`,
        reason: (err as Error)?.message ?? String(err),
      });
    }
  }

  #registerHooks(record: IntegrationRecord): void {
    if (!record.hooks) return;
    record.meta = record.hooks.meta ?? null;
    for (const [event, fn] of Object.entries(record.hooks.hooks ?? {})) {
      if (fn) this.#deps.hooks.register(event as LifecycleEvent, fn, `integration:${record.name}`);
    }
  }

  /**
   * Builds the adapter of `adapter.ts`, mounts its routes like a router's and hands it to
   * the adapter host; a failure drops the `adapter` part with its reason.
   */
  async #registerAdapter(
    record: IntegrationRecord,
    ctx: IntegrationContext,
    server: FastifyInstance | undefined,
  ): Promise<void> {
    if (!record.adapter) return;
    const file = `${record.dir}/adapter`;
    try {
      const adapter = record.adapter(ctx);
      if (!adapter || typeof adapter !== "object") throw new Error("must return an Adapter object");
      if (adapter.routes !== undefined && typeof adapter.routes !== "function") {
        throw new Error("adapter.routes must be a Fastify plugin function (app, ctx) => …");
      }
      this.#deps.adapters?.register(record.name, adapter, {
        settings: record.settingsValues,
        configured: () => record.status === "ready" || record.status === "partial",
        userAttribution: () => record.meta?.user_attribution,
      });
      if (adapter.routes && server) {
        await this.#mountRouter(record, ctx, server, adapter.routes, "adapter");
      }
    } catch (err) {
      record.parts = record.parts.filter((p) => p !== "adapter");
      record.errors.push({ file, reason: (err as Error)?.message ?? String(err) });
    }
  }

  async #mountRouter(
    record: IntegrationRecord,
    ctx: IntegrationContext,
    server: FastifyInstance,
    router: RouterDefinition,
    part: "router" | "adapter",
  ): Promise<void> {
    const errors = record.errors;
    const file = `${record.dir}/${part}`;
    await server.register(
      async (scope) => {
        scope.addHook("onRoute", (route) => {
          const auth = (route.config as { auth?: unknown } | undefined)?.auth;
          if (auth === "self") return;
          if (typeof auth === "string" && (SCOPES as readonly string[]).includes(auth)) {
            const check = ctx.requireApiKey(
              auth as Parameters<IntegrationContext["requireApiKey"]>[0],
            );
            // onRequest: the key is checked before the body is read (the error policy).
            const existing = route.onRequest
              ? Array.isArray(route.onRequest)
                ? route.onRequest
                : [route.onRequest]
              : [];
            route.onRequest = [check, ...existing] as typeof route.onRequest;
            return;
          }
          throw new Error(
            `route ${route.method} ${route.url} must state config.auth ("self" or an API scope: ${SCOPES.join(", ")})`,
          );
        });
        try {
          await router(scope, ctx);
        } catch (err) {
          errors.push({ file, reason: (err as Error)?.message ?? String(err) });
          record.parts = record.parts.filter((p) => p !== part);
        }
      },
      { prefix: `/integrations/${record.name}` },
    );
  }
}

function statusOf(r: IntegrationRecord): IntegrationStatus {
  if (
    r.parts.length === 0 ||
    (r.errors.length && !r.parts.some((p) => !["index", "setup", "config"].includes(p)))
  ) {
    return "error";
  }
  if (r.settings.some((s) => s.spec.required && s.value === undefined)) return "not_configured";
  return r.errors.length ? "partial" : "ready";
}

/** A settings update named keys the integration does not declare. */
export class UnknownSettingError extends Error {
  readonly keys: string[];
  constructor(keys: string[], valid: string[]) {
    super(`Unknown setting(s): ${keys.join(", ")}. Valid: ${valid.join(", ") || "(none)"}`);
    this.keys = keys;
  }
}
