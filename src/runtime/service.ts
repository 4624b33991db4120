/**
 * The runtime service: picks the provider a bot's workspace tools run on, resolves the
 * scope of a task (its session, its channel or its bot, as `runtime.scope` says), and
 * hands the tools a {@link ScopedRuntime}. `SWITCHYARD_RUNTIME` sets what `default` means:
 * `auto` (bubblewrap when `bwrap` can start a sandbox here, probed once, else host),
 * `host`, `bubblewrap` (the start fails when bwrap cannot work) or `none` (every workspace
 * tool fails with a clear tool error, whatever a bot asks for).
 */
import type { Runtime, RuntimeProvider, RuntimeScope } from "../sdk/runtime.ts";
import type { OwnerScope } from "../sdk/scopes.ts";
import { type BwrapProbe, createBubblewrapProvider, probeBwrap } from "./bubblewrap.ts";
import { type BotRuntimeConfig, DEFAULT_PROVIDER, resolveRuntimeConfig } from "./config.ts";
import { type CommandDefaults, createHostProvider } from "./host.ts";
import { RuntimeRegistry } from "./registry.ts";
import { ensureScope } from "./scope.ts";

/** `SWITCHYARD_RUNTIME`. */
export type RuntimeSetting = "auto" | "host" | "bubblewrap" | "none";

/** Why a workspace tool cannot run; its message is shown to the model as the tool's error. */
export class RuntimeUnavailableError extends Error {}

/** What the service reads from the store. */
export interface RuntimeLookups {
  /** The bot's stored runtime settings (raw; defaults are filled in here). */
  botRuntime(botId: string): Promise<unknown | undefined>;
  /** The session's client id (a channel scope is found from it). */
  sessionClientId(sessionId: string): Promise<string | undefined>;
  /** The id of the channel row with this client id, if any. */
  channelId(clientId: string): Promise<string | undefined>;
}

/** Options of {@link RuntimeService}. */
export interface RuntimeServiceOptions extends CommandDefaults {
  setting: RuntimeSetting;
  workspaceDir: string;
  /** Never visible inside a sandbox (the data dir, the workspace). */
  hidden: string[];
  lookups: RuntimeLookups;
  /** Probes `bwrap` (default {@link probeBwrap}); tests inject a failing one. */
  probe?: () => BwrapProbe;
}

/** A task's runtime, ready for the tools. */
export interface ScopedRuntime {
  runtime: Runtime;
  scope: RuntimeScope;
  config: BotRuntimeConfig;
}

/**
 * The scope id of a session for `kind`: the session id, the bot id, or the channel: the
 * channel row whose key starts the session's client id (`<adapter>:<team>:<channel>…`), else
 * the client id without its `#<generation>` suffix (a REST client's conversations share it).
 */
export async function scopeIdFor(
  kind: OwnerScope["kind"],
  ids: { sessionId: string; botId: string },
  lookups: Pick<RuntimeLookups, "sessionClientId" | "channelId">,
): Promise<string> {
  if (kind === "session") return ids.sessionId;
  if (kind === "bot") return ids.botId;
  const clientId = await lookups.sessionClientId(ids.sessionId);
  if (clientId === undefined)
    throw new RuntimeUnavailableError(`Session ${ids.sessionId} no longer exists`);
  const base = clientId.replace(/#\d+$/, "");
  const parts = base.split(":");
  if (parts.length >= 3) {
    const channel = await lookups.channelId(parts.slice(0, 3).join(":"));
    if (channel) return channel;
  }
  return `client:${base}`;
}

/** Chooses providers and scopes for the workspace tools. */
export class RuntimeService {
  /** Integration providers (`runtime.ts`). */
  readonly registry = new RuntimeRegistry();
  /** What `default` runs on here: `host`, `bubblewrap` or `none`. */
  readonly chosen: "host" | "bubblewrap" | "none";
  readonly #opts: RuntimeServiceOptions;
  #probe: BwrapProbe | undefined;
  readonly #host: RuntimeProvider;
  #bwrap: RuntimeProvider | undefined;

  /** @throws Error when `setting` is `bubblewrap` and bwrap cannot start a sandbox here */
  constructor(opts: RuntimeServiceOptions) {
    this.#opts = opts;
    this.#host = createHostProvider(opts);
    if (opts.setting !== "none" && opts.setting !== "host") this.#probeOnce();
    if (opts.setting === "bubblewrap" && !this.#bwrap) {
      throw new Error(
        `SWITCHYARD_RUNTIME=bubblewrap, but ${this.#probe?.reason ?? "bwrap does not work here"}`,
      );
    }
    this.chosen = opts.setting === "auto" ? (this.#bwrap ? "bubblewrap" : "host") : opts.setting;
  }

  /** One line for the start banner: the setting, what it chose, and why. */
  describe(): string {
    const { setting } = this.#opts;
    if (this.chosen === "none") return "none (SWITCHYARD_RUNTIME=none: workspace tools are off)";
    if (this.chosen === "bubblewrap")
      return `bubblewrap (${this.#probe!.path}; SWITCHYARD_RUNTIME=${setting})`;
    const why = setting === "auto" ? `; bubblewrap unavailable: ${this.#probe?.reason}` : "";
    return `host (no isolation beyond the scope folder; SWITCHYARD_RUNTIME=${setting}${why})`;
  }

  /** Every provider name a bot may set: `default`, core's and the integrations'. */
  providerNames(): string[] {
    return [DEFAULT_PROVIDER, "host", "bubblewrap", ...this.registry.names()];
  }

  /**
   * The runtime of a task's tool call, its scope folder created.
   * @throws RuntimeUnavailableError when runtimes are off, the provider is unknown or cannot
   *   work here, or the bot or session is gone
   */
  async open(ids: { sessionId: string; botId: string }): Promise<ScopedRuntime> {
    if (this.chosen === "none") {
      throw new RuntimeUnavailableError(
        "Workspace tools are off on this server (SWITCHYARD_RUNTIME=none)",
      );
    }
    const stored = await this.#opts.lookups.botRuntime(ids.botId);
    if (stored === undefined)
      throw new RuntimeUnavailableError(`Bot ${ids.botId} no longer exists`);
    const config = resolveRuntimeConfig(stored);
    const provider = this.#provider(config.provider);
    const id = await scopeIdFor(config.scope, ids, this.#opts.lookups);
    const scope = await ensureScope(this.#opts.workspaceDir, { kind: config.scope, id });
    return { runtime: await provider.get(scope), scope, config };
  }

  /** Probes bwrap the first time it is needed (at start unless the setting is host/none). */
  #probeOnce(): void {
    if (this.#probe) return;
    this.#probe = (this.#opts.probe ?? probeBwrap)();
    if (this.#probe.ok) {
      this.#bwrap = createBubblewrapProvider({ ...this.#opts, bwrapPath: this.#probe.path! });
    }
  }

  #provider(name: string): RuntimeProvider {
    const chosen = name === DEFAULT_PROVIDER ? this.chosen : name;
    if (chosen === "host") return this.#host;
    if (chosen === "bubblewrap") {
      this.#probeOnce();
      if (this.#bwrap) return this.#bwrap;
      throw new RuntimeUnavailableError(
        `This bot's runtime is bubblewrap, which cannot work on this server: ${this.#probe?.reason}`,
      );
    }
    const p = this.registry.get(chosen);
    if (p) return p;
    throw new RuntimeUnavailableError(
      `Unknown runtime provider "${chosen}" (known: ${this.providerNames().join(", ")})`,
    );
  }

  /** Stops every provider (server stop). */
  async stop(): Promise<void> {
    await Promise.allSettled([this.#host.stop(), this.#bwrap?.stop(), this.registry.stopAll()]);
  }
}
