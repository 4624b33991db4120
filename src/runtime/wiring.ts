/**
 * Builds the runtime service for the server and registers the workspace tools (`bash`,
 * `read_file`, `write_file`, `edit_file`, `list_files`) as core tools. app.ts calls this.
 */
import type { ToolRegistry } from "../agent/tools.ts";
import type { Config } from "../config.ts";
import type { Store } from "../store/index.ts";
import type { BwrapProbe } from "./bubblewrap.ts";
import { RuntimeService } from "./service.ts";
import { workspaceTools } from "./tools.ts";

/** What {@link createRuntime} needs. */
export interface RuntimeWiring {
  config: Pick<Config, "SWITCHYARD_RUNTIME" | "workspaceDir" | "dataDir">;
  store: Pick<Store, "bots" | "sessions" | "channels">;
  tools: ToolRegistry;
  /** Between SIGTERM and SIGKILL when a command is killed, ms (default 2000). */
  killGraceMs?: number;
  /** Replaces the bwrap check (tests). */
  probe?: () => BwrapProbe;
}

/**
 * The runtime service, its tools registered.
 * @throws Error when `SWITCHYARD_RUNTIME=bubblewrap` and bwrap cannot start a sandbox here
 */
export function createRuntime(w: RuntimeWiring): RuntimeService {
  const service = new RuntimeService({
    setting: w.config.SWITCHYARD_RUNTIME,
    workspaceDir: w.config.workspaceDir,
    hidden: [w.config.dataDir, w.config.workspaceDir],
    killGraceMs: w.killGraceMs,
    probe: w.probe,
    lookups: {
      botRuntime: async (id) => {
        const bot = await w.store.bots.get(id);
        return bot ? (bot.runtime ?? {}) : undefined;
      },
      sessionClientId: async (id) => (await w.store.sessions.get(id))?.clientId,
      channelId: async (clientId) => (await w.store.channels.byClientId(clientId))?.id,
    },
  });
  for (const tool of workspaceTools(service)) w.tools.register(tool);
  return service;
}
