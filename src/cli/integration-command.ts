/**
 * `switchyard <folder> <command> [args…]`: commands an integration folder offers in its
 * `cli.ts` (a {@link CliDefinition}), found the way the server finds integrations (the same
 * sources, later folders overriding earlier ones). The command runs with the folder's
 * settings resolved as the server resolves them (stored through the admin API, then the
 * environment, then `setup.ts` defaults) and the server's outbound HTTP client (its SSRF
 * guard included); no server runs, so session and document calls throw. Core names no
 * folder: whatever `cli.ts` files exist are the commands.
 */
import { pathToFileURL } from "node:url";
import type { Config } from "../config.ts";
import { discoverIntegrations, findModule } from "../integrations/discovery.ts";
import { resolveSettings, settingsObject } from "../integrations/settings.ts";
import { OutboundHttpClient } from "../outbox/http-client.ts";
import type { CliCommand, CliDefinition } from "../sdk/cli.ts";
import type { SetupManifest } from "../sdk/modules.ts";
import { openSettingsStore } from "./integrations-list.ts";
import { stubContext } from "./stub-context.ts";

/** Exit code for a command or folder that does not exist (as for an unknown built-in command). */
export const USAGE_EXIT_CODE = 2;

/** Integration folders that have a `cli.ts` (`.mjs`, `.js`): folder name → the module file. */
export function integrationClis(sources: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of discoverIntegrations(sources)) {
    const file = findModule(f.dir, "cli");
    if (file) out.set(f.name, file);
  }
  return out;
}

/** The lines listing `switchyard <folder> <command>` for every folder with a CLI. */
export function integrationCliUsage(clis: Map<string, string>): string {
  if (clis.size === 0) return "Integration commands: none (no integration folder has a cli.ts)\n";
  const names = [...clis.keys()].sort().map((n) => `  switchyard ${n} <command>`);
  return `Integration commands (run one without <command> to list them):\n${names.join("\n")}\n`;
}

/** Imports `file` and checks it is a {@link CliDefinition}. @throws Error saying what is wrong */
export async function loadCli(file: string): Promise<CliDefinition> {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const def = (mod.default ?? mod.cli) as Partial<CliDefinition> | undefined;
  const commands = def?.commands;
  if (!commands || typeof commands !== "object") {
    throw new Error("cli.ts must export { commands: { <name>: { description, run } } }");
  }
  for (const [name, c] of Object.entries(commands)) {
    if (!c || typeof (c as Partial<CliCommand>).run !== "function") {
      throw new Error(`cli.ts: command ${name} has no run() function`);
    }
  }
  return def as CliDefinition;
}

/** The folder's resolved settings (`setup.ts` env_vars; stored values win over `env`). */
async function folderSettings(
  config: Pick<Config, "env" | "databaseUrl" | "SWITCHYARD_SECRET_KEY">,
  folder: string,
  setupFile: string | undefined,
): Promise<Record<string, string | undefined>> {
  let setup: SetupManifest | null = null;
  if (setupFile) {
    const mod = (await import(pathToFileURL(setupFile).href)) as Record<string, unknown>;
    const def = (mod.default ?? mod.setup) as SetupManifest | undefined;
    if (def && Array.isArray(def.env_vars)) setup = def;
  }
  const store = await openSettingsStore(config);
  try {
    const stored = (await store?.integrationSettings.get(folder)) ?? {};
    return settingsObject(resolveSettings(setup, config.env, stored));
  } finally {
    await store?.close();
  }
}

/**
 * Runs `switchyard <folder> <command> [args…]`: prints the command's output to stdout,
 * or its error to stderr.
 * @param file the folder's `cli.ts` (from {@link integrationClis})
 * @returns the exit code: 0 done, 1 the command failed, 2 no such command (the folder's
 *   commands are listed on stderr)
 */
export async function runIntegrationCommand(
  config: Pick<
    Config,
    "env" | "databaseUrl" | "SWITCHYARD_SECRET_KEY" | "SWITCHYARD_ALLOW_PRIVATE_URLS"
  >,
  folder: string,
  file: string,
  argv: string[],
): Promise<number> {
  let cli: CliDefinition;
  try {
    cli = await loadCli(file);
  } catch (err) {
    process.stderr.write(`switchyard ${folder}: ${(err as Error).message}\n`);
    return 1;
  }
  const [name, ...args] = argv;
  const command =
    name !== undefined ? Object.hasOwn(cli.commands, name) && cli.commands[name] : undefined;
  if (!command) {
    const list = Object.entries(cli.commands)
      .map(([n, c]) => `  switchyard ${folder} ${n}  ${c.description ?? ""}`.trimEnd())
      .join("\n");
    const what = name === undefined ? "a command is needed" : `unknown command '${name}'`;
    process.stderr.write(`switchyard ${folder}: ${what}. Commands:\n${list}\n`);
    return USAGE_EXIT_CODE;
  }
  const dir = file.slice(0, file.lastIndexOf("/"));
  const settings = await folderSettings(config, folder, findModule(dir, "setup"));
  const ctx = {
    ...stubContext(folder, settings),
    http: new OutboundHttpClient({ allowPrivate: config.SWITCHYARD_ALLOW_PRIVATE_URLS }),
  };
  try {
    const out = await command.run(ctx, args);
    if (typeof out === "string" && out) process.stdout.write(out.endsWith("\n") ? out : `${out}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`switchyard ${folder} ${name}: ${(err as Error)?.message ?? err}\n`);
    return 1;
  }
}
