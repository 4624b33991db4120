/**
 * The `switchyard` command: `serve` (default), `keys create|list|revoke`,
 * `jobs list|add|rm|run`, `doctor`, …, and `switchyard <folder> <command>` for integration
 * folders with a `cli.ts`.
 * Run through `bin/switchyard` or `npm start`, which use the pinned Node.
 */
import { Command, Option } from "commander";
import type { AdapterStatus } from "./adapters/host.ts";
import {
  type BotModels,
  botNames,
  botsAsStarted,
  checkBotModels,
  failureLines,
  type ModelUse,
} from "./agent/bot-models.ts";
import { ModelRegistry } from "./agent/models.ts";
import { App, VERSION } from "./app.ts";
import { chat } from "./cli/chat.ts";
import {
  integrationClis,
  integrationCliUsage,
  runIntegrationCommand,
  USAGE_EXIT_CODE,
} from "./cli/integration-command.ts";
import { integrationsCheck } from "./cli/integrations-check.ts";
import { integrationsList, workspaceIntegrationsDir } from "./cli/integrations-list.ts";
import { jobsAdd, jobsList, jobsRemove, jobsRun } from "./cli/jobs.ts";
import { keysList, keysRevoke } from "./cli/keys.ts";
import { newIntegration } from "./cli/new-integration.ts";
import { startedByNpm, stopOnSignals } from "./cli/shutdown.ts";
import { stateExport } from "./cli/state-export.ts";
import { type Config, ConfigError, loadConfig, redactDatabaseUrl } from "./config.ts";
import { checkCanListen } from "./http/port-check.ts";
import { integrationSources } from "./integrations/discovery.ts";
import { createLogger } from "./lib/logger.ts";
import { SCOPES, type Scope } from "./sdk/scopes.ts";
import { Store } from "./store/index.ts";

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function serve(): Promise<void> {
  const config = configOrExit();
  try {
    await checkCanListen(config.HOST, config.PORT);
  } catch (err) {
    process.stderr.write(
      `switchyard: cannot listen on ${config.HOST}:${config.PORT}: ${(err as Error).message}\n`,
    );
    process.exit(1);
  }
  let app: App;
  try {
    app = await App.create(config);
  } catch (err) {
    process.stderr.write(`switchyard: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const probe = app.store.bots.list().then(async (bots) => {
    const uses = await checkBotModels(app.models, bots, 1500);
    app.modelCheck.record(uses);
    return uses;
  });
  let url: string;
  try {
    url = await app.start();
  } catch (err) {
    process.stderr.write(
      `switchyard: cannot listen on ${config.HOST}:${config.PORT}: ${(err as Error).message}\n`,
    );
    await app.stop();
    process.exit(1);
  }
  stopOnSignals({
    stop: () => app.stop(),
    graceMs: config.SWITCHYARD_SHUTDOWN_GRACE_SECONDS * 1000,
    watchParent: startedByNpm(),
  });
  const uses = await probe;
  const key = app.apiKey;
  const keyLine =
    key.source === "env"
      ? "from SWITCHYARD_API_KEY"
      : key.source === "generated"
        ? `generated (shown once): ${key.newKey}\n             saved to ${key.path} (mode 0600)`
        : key.path
          ? `in ${key.path} (generated on first start)`
          : "generated on first start; its file is gone: create one with `switchyard keys create --scopes admin`";
  process.stdout.write(
    [
      `switchyard ${VERSION} listening on ${url}`,
      `  database:  ${app.store.dialect} ${redactDatabaseUrl(config.databaseUrl)}`,
      ...modelLines(uses).map((line) => `  model:     ${line}`),
      `  API key:   ${keyLine}`,
      `  runtime:   ${app.runtime.describe()}`,
      `  integrations loaded: ${integrationSummary(app)}`,
      ...app.adapters.list().map((a) => `  adapter:   ${adapterLine(a)}`),
      "",
    ].join("\n"),
  );
}

/** The banner's model lines: each answering model with its bots, then each failing bot. */
function modelLines(uses: ModelUse[]): string[] {
  const ok = uses
    .filter((u) => u.ok)
    .map(
      (u) => `${u.spec} (endpoint answers: ${u.endpoint}; ${botNames(u.bots.map((b) => b.id))})`,
    );
  return [...ok, ...failureLines(uses)];
}

/** One adapter's banner line: its name, integration and state (a failure with its reason). */
function adapterLine(a: AdapterStatus): string {
  const what = `${a.name} (integration ${a.integration})`;
  if (a.state !== "failed") return `${what} ${a.state.replace("_", " ")}`;
  const retry = a.nextRetryAt
    ? `; retrying in ${Math.max(0, Math.round((a.nextRetryAt - Date.now()) / 1000))} s`
    : "";
  return `${what} FAILED to start: ${a.error}${retry}`;
}

function integrationSummary(app: App): string {
  const all = app.integrations.list();
  const bad = all.filter((i) => i.status === "error" || i.errors.length);
  const names = all.map((i) => (i.status === "ready" ? i.name : `${i.name} (${i.status})`));
  return `${all.length - bad.length} of ${all.length}${names.length ? ` — ${names.join(", ")}` : ""}`;
}

/**
 * `switchyard mcp`: the MCP server over stdio, on the configured database. Nothing listens
 * and no task runs here; the delivery worker runs so that what this process sends is
 * retried. stdout carries MCP messages only: logs go to stderr.
 */
async function mcp(): Promise<void> {
  const config = configOrExit();
  let app: App;
  try {
    app = await App.create(config, {
      log: createLogger(
        { level: config.SWITCHYARD_LOG_LEVEL, format: config.SWITCHYARD_LOG_FORMAT },
        2,
      ),
      tuning: { startProcesses: false },
    });
  } catch (err) {
    process.stderr.write(`switchyard mcp: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (app.apiKey.source === "generated") {
    process.stderr.write(
      `switchyard mcp: an API key was generated and saved to ${app.apiKey.path}\n`,
    );
  }
  app.deliveryWorker.start();
  const { serveMcpStdio } = await import("./mcp/stdio.ts"); // only `mcp` needs the MCP SDK
  await serveMcpStdio(app.mcpServices, VERSION);
  await app.stop();
  process.exit(0);
}

async function keysCreate(opts: { scopes: string; name: string }): Promise<void> {
  const config = configOrExit();
  const scopes = opts.scopes
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad.length || scopes.length === 0) {
    process.stderr.write(
      `Unknown scope(s): ${bad.join(", ") || "(none given)"}. Valid: ${SCOPES.join(", ")}\n`,
    );
    process.exit(1);
  }
  const store = await Store.open(config.databaseUrl);
  try {
    const { key, record } = await store.apiKeys.create(opts.name, scopes as Scope[]);
    process.stdout.write(`${key}\n`);
    process.stderr.write(
      `Created key "${record.name}" (${record.id}) with scopes ${scopes.join(", ")}. It is shown only now.\n`,
    );
  } finally {
    await store.close();
  }
}

async function doctor(): Promise<void> {
  const problems: string[] = [];
  let config: Config;
  try {
    config = loadConfig();
    process.stdout.write("config:    ok\n");
  } catch (err) {
    process.stdout.write(`config:    FAILED\n${(err as Error).message}\n`);
    process.exit(1);
  }
  let bots: BotModels[] = [];
  try {
    const store = await Store.open(config.databaseUrl);
    try {
      bots = await store.bots.list();
    } finally {
      await store.close();
    }
    process.stdout.write(`database:  ok (${redactDatabaseUrl(config.databaseUrl)})\n`);
  } catch (err) {
    problems.push(`database: ${(err as Error).message}`);
    process.stdout.write(`database:  FAILED: ${(err as Error).message}\n`);
  }
  // The bots' models as `serve` would run them (the env-owned default bot follows SWITCHYARD_MODEL).
  const uses = await checkBotModels(
    new ModelRegistry(config),
    botsAsStarted(bots, config.SWITCHYARD_MODEL),
    5000,
  );
  for (const u of uses.filter((x) => x.ok)) {
    process.stdout.write(
      `model:     ok (${u.spec} at ${u.endpoint}; ${botNames(u.bots.map((b) => b.id))})\n`,
    );
  }
  for (const line of failureLines(uses)) {
    problems.push(`model: ${line}`);
    process.stdout.write(`model:     FAILED: ${line}\n`);
  }
  process.exit(problems.length ? 1 : 0);
}

const program = new Command("switchyard")
  .version(VERSION)
  .description("Integration server for AI agents");
program.command("serve", { isDefault: true }).description("Run the server").action(serve);
const keys = program.command("keys").description("Manage API keys");
keys
  .command("create")
  .description("Create an API key and print it once (only its hash is stored)")
  .addOption(
    new Option("--scopes <list>", `comma-separated: ${SCOPES.join(", ")}`).makeOptionMandatory(),
  )
  .option("--name <name>", "a label for the key", "cli")
  .action(keysCreate);
keys
  .command("list")
  .description("List the keys in force: id, name, scopes, created, last used (never the key)")
  .option("--json", "print JSON (the shape of GET /api/v1/admin/keys)")
  .action(async (opts: { json?: boolean }) => process.exit(await keysList(configOrExit(), opts)));
keys
  .command("revoke <id-or-name>")
  .description("Revoke a key by id, or by name when one key in force has it")
  .action(async (idOrName: string) => process.exit(await keysRevoke(configOrExit(), idOrName)));
program
  .command("chat")
  .description(
    "Chat with a bot of a running server in the terminal (/new: fresh session; Ctrl-D: quit)",
  )
  .option("--bot <id>", "the bot", "default")
  .option("--conversation <name>", "the conversation (its session is continued)", "default")
  .option("--url <url>", "the server's URL (default http://HOST:PORT)")
  .action(async (o: { bot: string; conversation: string; url?: string }) =>
    process.exit(await chat(configOrExit(), o)),
  );
program
  .command("mcp")
  .description("Serve the MCP tools over stdio (for a local MCP client)")
  .action(mcp);
program
  .command("doctor")
  .description("Check configuration, database and model endpoint")
  .action(doctor);
const jobs = program
  .command("jobs")
  .description("Scheduled jobs of a running server (over its REST API)");
const urlOption = () => new Option("--url <url>", "the server's URL (default http://HOST:PORT)");
jobs
  .command("list")
  .description("List jobs: id, name, schedule, next run, enabled, integration")
  .addOption(urlOption())
  .option("--json", "print JSON (the shape of GET /api/v1/jobs)")
  .action(async (o: { url?: string; json?: boolean }) =>
    process.exit(await jobsList(configOrExit(), o)),
  );
jobs
  .command("add")
  .description("Create a job (one of --cron, --every, --at; --session, or --client with --bot)")
  .requiredOption("--name <name>", "a label")
  .requiredOption("--prompt <text>", "the message injected at each firing")
  .option("--cron <expr>", "cron expression, 5 or 6 fields")
  .option("--tz <zone>", "IANA time zone of --cron (default UTC)")
  .option("--every <seconds>", "fire every N seconds")
  .option("--at <iso>", "fire once at this ISO 8601 instant")
  .option("--session <id>", "target: an existing session")
  .option("--bot <id>", "target bot with --client", "default")
  .option("--client <id>", "target: the session of (bot, client id), created when absent")
  .addOption(new Option("--missed <policy>", "after downtime").choices(["run_once", "skip"]))
  .addOption(new Option("--overlap <policy>", "while a run is running").choices(["skip", "queue"]))
  .option("--disabled", "create it disabled")
  .option("--json", "print the created job as JSON")
  .addOption(urlOption())
  .action(async (o) => process.exit(await jobsAdd(configOrExit(), o)));
jobs
  .command("rm <id>")
  .description("Delete a job and its runs")
  .addOption(urlOption())
  .action(async (id: string, o: { url?: string }) =>
    process.exit(await jobsRemove(configOrExit(), id, o)),
  );
jobs
  .command("run <id>")
  .description("Run a job now (its schedule is unchanged)")
  .addOption(urlOption())
  .option("--json", "print the run as JSON")
  .action(async (id: string, o: { url?: string; json?: boolean }) =>
    process.exit(await jobsRun(configOrExit(), id, o)),
  );
const integrations = program.command("integrations").description("Inspect integration folders");
integrations
  .command("list")
  .description("Load every integration as the server would (nothing started) and show its status")
  .action(async () => process.exit(await integrationsList(configOrExit())));
integrations
  .command("check <dir>")
  .description("Validate one integration folder against the contract; exit 1 on any problem")
  .action(async (dir: string) => process.exit(await integrationsCheck(dir)));
program
  .command("state")
  .description("Integrations state: webhooks (no secrets), git auto-commit, notifications")
  .command("export")
  .description("Write the state as JSON, read from the database (the server need not run)")
  .option("--output <file>", "write to this file (mode 0600) instead of standard output")
  .action(async (opts: { output?: string }) =>
    process.exit(await stateExport(configOrExit(), opts.output)),
  );
program
  .command("new")
  .description("Create from a template")
  .command("integration <name>")
  .description("Scaffold an integration folder that passes `integrations check`")
  .option("--dir <dir>", "parent folder (default: <workspace dir>/integrations)")
  .action((name: string, opts: { dir?: string }) =>
    process.exit(newIntegration(name, opts.dir ?? workspaceIntegrationsDir(configOrExit()))),
  );
// `serve` is the default command, so commander would take an unknown word for an argument
// of serve ("too many arguments for 'serve'"): name it and show the commands instead.
// A word that is no built-in command may name an integration folder with a `cli.ts`
// (`switchyard <folder> <command> [args…]`).
const first = process.argv[2];
const commands = new Set(["help", ...program.commands.flatMap((c) => [c.name(), ...c.aliases()])]);
if (first !== undefined && !first.startsWith("-") && !commands.has(first)) {
  let config: Config | undefined;
  try {
    config = loadConfig();
  } catch {}
  // Without a valid configuration only this repository's folders can be listed.
  const sources = integrationSources(
    config ?? { integrationDirs: [], workspaceDir: "/nonexistent" },
  );
  const clis = integrationClis(sources);
  const file = clis.get(first);
  if (file) {
    process.exit(
      await runIntegrationCommand(config ?? configOrExit(), first, file, process.argv.slice(3)),
    );
  }
  process.stderr.write(`switchyard: unknown command '${first}'\n\n`);
  program.outputHelp({ error: true });
  process.stderr.write(`\n${integrationCliUsage(clis)}`);
  process.exit(USAGE_EXIT_CODE);
}
await program.parseAsync(process.argv);
