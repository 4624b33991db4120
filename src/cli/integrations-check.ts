/**
 * `switchyard integrations check <dir>`: loads one integration folder in isolation and
 * validates every file against the contract (src/sdk/). The loader does most of it
 * (including that every package a module imports is the folder's own: declared in its
 * package.json and installed where it resolves from the folder);
 * on top of that the router is run against a throwaway Fastify instance to see that
 * every route states `config.auth`, the dispatcher factory is called and must return
 * `deliver` and `postMessage`, the notifier factory is called and its notifier must
 * register as a channel (a `body()`, a free channel name), tool schemas are checked, `setup.ts` keys must be unique,
 * and no module may import
 * a path under switchyard's `src/`; a `cli.ts` must export `{commands: {<name>: {description,
 * run}}}`. A skill without `name` and `description` front matter
 * loads (named after its file), so it is a warning here as in the loader, not a problem.
 * Modules get a stub context: nothing is sent anywhere.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, relative, resolve, sep } from "node:path";
import Fastify from "fastify";
import { NotifierRegistry } from "../events/notifier-registry.ts";
import { ACTIVE_PARTS, findModule, isIntegrationFolder } from "../integrations/discovery.ts";
import { ModuleSyntaxError, moduleFilesOf, scanImports } from "../integrations/imports.ts";
import {
  type LoadError,
  type LoadedIntegration,
  loadIntegration,
  relativeToFolder,
} from "../integrations/loader.ts";
import { resolveSettings, settingsObject } from "../integrations/settings.ts";
import type { IntegrationContext } from "../sdk/index.ts";
import { SCOPES } from "../sdk/scopes.ts";
import { loadCli } from "./integration-command.ts";
import { stubContext } from "./stub-context.ts";

/** switchyard's own `src/`: integrations must not import from it. */
const SRC_DIR = resolve(import.meta.dirname, "..");

/** The outcome of checking one folder. */
export interface CheckReport {
  name: string;
  dir: string;
  /** Every problem found, with the file it is in. */
  problems: LoadError[];
  /** What loads but is probably not meant (the loader's warnings); not a failure. */
  warnings: LoadError[];
  /** The loaded folder (absent when it could not be loaded at all). */
  loaded?: LoadedIntegration;
  /** Routes the router declared: `METHOD /integrations/<name>/path (auth)`. */
  routes: string[];
  /** Commands of its `cli.ts` (`switchyard <folder> <command>`). */
  commands: string[];
}

/**
 * Checks the integration folder `dir`.
 * @param env the environment its settings resolve from (for the stub context)
 */
export async function checkIntegrationFolder(
  dir: string,
  env: Record<string, string | undefined> = process.env,
): Promise<CheckReport> {
  const abs = resolve(dir);
  const report: CheckReport = {
    name: basename(abs),
    dir: abs,
    problems: [],
    warnings: [],
    routes: [],
    commands: [],
  };
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    report.problems.push({ file: abs, reason: "no such folder" });
    return report;
  }
  if (!isIntegrationFolder(abs)) {
    const parts = ACTIVE_PARTS.map((p) => `${p}.ts`).join(", ");
    report.problems.push({
      file: abs,
      reason: `not an integration folder: it needs one of ${parts}, tools/*.ts or skills/*.md`,
    });
    return report;
  }
  const loaded = await loadIntegration({
    name: report.name,
    dir: abs,
    source: dirname(abs),
    overrides: [],
  });
  report.loaded = loaded;
  const problems = report.problems;
  problems.push(...loaded.errors);
  report.warnings.push(...loaded.warnings);
  const ctx = stubContext(loaded.name, settingsObject(resolveSettings(loaded.setup, env)));

  const setupFile = findModule(abs, "setup");
  const seenKeys = new Set<string>();
  for (const v of loaded.setup?.env_vars ?? []) {
    if (seenKeys.has(v.key))
      problems.push({ file: setupFile!, reason: `env_vars: duplicate key ${v.key}` });
    seenKeys.add(v.key);
  }
  const hookPath = loaded.setup?.webhook?.path;
  if (hookPath !== undefined && !hookPath.startsWith("/")) {
    problems.push({ file: setupFile!, reason: `webhook.path must start with "/": ${hookPath}` });
  }

  if (loaded.router) {
    const r = await checkRouter(loaded, ctx);
    report.routes = r.routes;
    problems.push(...r.problems.map((reason) => ({ file: findModule(abs, "router")!, reason })));
  }
  if (loaded.dispatcher) {
    const reason = checkDispatcher(loaded.dispatcher, ctx);
    if (reason) problems.push({ file: findModule(abs, "dispatcher")!, reason });
  }
  if (loaded.notifier) {
    const reason = checkNotifier(loaded.notifier, ctx, loaded.name);
    if (reason) problems.push({ file: findModule(abs, "notifier")!, reason });
  }
  const hooksFile = findModule(abs, "hooks");
  const meta = (loaded.hooks?.meta ?? {}) as Record<string, unknown>;
  for (const key of ["user_attribution", "resolve_display_names", "resolve_dispatch_config"]) {
    if (meta[key] !== undefined && typeof meta[key] !== "function") {
      problems.push({ file: hooksFile!, reason: `hooks: meta.${key} must be a function` });
    }
  }

  const cliFile = findModule(abs, "cli");
  if (cliFile) {
    try {
      report.commands = Object.keys((await loadCli(cliFile)).commands);
    } catch (err) {
      problems.push({ file: cliFile, reason: (err as Error)?.message ?? String(err) });
    }
  }

  const toolFiles = new Map<string, string>();
  for (const t of loaded.tools) {
    const first = toolFiles.get(t.name);
    if (first !== undefined) {
      problems.push({
        file: t.file,
        reason: `tool ${t.name}: the name is also used in ${relativeToFolder(loaded, first)}`,
      });
    } else toolFiles.set(t.name, t.file);
    const reason = schemaProblem(t.parameters);
    if (reason) problems.push({ file: t.file, reason: `tool ${t.name}: parameters: ${reason}` });
  }

  for (const file of moduleFilesOf(abs)) {
    for (const reason of importProblems(file)) {
      // A part's syntax error is already the loader's; helpers and tests are only seen here.
      if (!problems.some((p) => p.file === file && p.reason === reason))
        problems.push({ file, reason });
    }
  }
  return report;
}

/** Mounts the router on a throwaway Fastify instance; a problem per route without auth. */
async function checkRouter(
  loaded: LoadedIntegration,
  ctx: IntegrationContext,
): Promise<{ problems: string[]; routes: string[] }> {
  const problems: string[] = [];
  const routes: Array<{ method: string; url: string; auth: unknown }> = [];
  const app = Fastify({ logger: false });
  try {
    await app.register(
      async (scope) => {
        scope.addHook("onRoute", (route) => {
          const auth = (route.config as { auth?: unknown } | undefined)?.auth;
          routes.push({ method: [route.method].flat().join(","), url: route.url, auth });
        });
        await loaded.router!(scope, ctx);
      },
      { prefix: `/integrations/${loaded.name}` },
    );
    await app.ready();
  } catch (err) {
    problems.push(`router failed to register: ${(err as Error)?.message ?? String(err)}`);
  } finally {
    await app.close().catch(() => {});
  }
  // Fastify adds a HEAD route for each GET one (with the same config): not the author's.
  const gets = new Set(routes.filter((r) => r.method === "GET").map((r) => r.url));
  const own = routes.filter((r) => !(r.method === "HEAD" && gets.has(r.url)));
  for (const r of own) {
    if (typeof r.auth !== "string" || r.auth === "") {
      problems.push(
        `route ${r.method} ${r.url} must state config.auth ("self" or an API scope such as "sessions:write")`,
      );
    } else if (r.auth !== "self" && !(SCOPES as readonly string[]).includes(r.auth)) {
      problems.push(
        `route ${r.method} ${r.url}: config.auth "${r.auth}" is neither "self" nor an API scope (${SCOPES.join(", ")})`,
      );
    }
  }
  return { problems, routes: own.map((r) => `${r.method} ${r.url} (${String(r.auth)})`) };
}

/** Calls the dispatcher factory; the reason it does not give a Dispatcher, or undefined. */
function checkDispatcher(
  factory: NonNullable<LoadedIntegration["dispatcher"]>,
  ctx: IntegrationContext,
): string | undefined {
  let d: unknown;
  try {
    d = factory(ctx);
  } catch (err) {
    return `the dispatcher factory threw: ${(err as Error)?.message ?? String(err)}`;
  }
  if (d && typeof (d as { then?: unknown }).then === "function") {
    return "the dispatcher factory must return a Dispatcher synchronously, not a Promise";
  }
  if (!d || typeof d !== "object") {
    return "the dispatcher factory must return an object with deliver() and postMessage()";
  }
  const missing = (["deliver", "postMessage"] as const).filter(
    (m) => typeof (d as Record<string, unknown>)[m] !== "function",
  );
  return missing.length
    ? `the dispatcher has no ${missing.map((m) => `${m}()`).join(" or ")} method`
    : undefined;
}

/**
 * Calls the notifier factory and registers the notifier in a throwaway registry (the
 * server's rules); the reason it would not become a channel, or undefined.
 */
function checkNotifier(
  factory: NonNullable<LoadedIntegration["notifier"]>,
  ctx: IntegrationContext,
  name: string,
): string | undefined {
  try {
    const n = factory(ctx);
    if (n && typeof (n as { then?: unknown }).then === "function") {
      return "the notifier factory must return a Notifier synchronously, not a Promise";
    }
    if (!n || typeof n !== "object")
      return "the notifier factory must return an object with body()";
    new NotifierRegistry().register(n.channel ?? name, n, "check");
    return undefined;
  } catch (err) {
    return (err as Error)?.message ?? String(err);
  }
}

/** What is wrong with a tool's (JSON-Schema) parameters beyond `type: "object"`, if anything. */
function schemaProblem(schema: Record<string, unknown>): string | undefined {
  const props = schema.properties;
  if (props !== undefined && (typeof props !== "object" || props === null || Array.isArray(props)))
    return "properties must be an object";
  const required = schema.required;
  if (required === undefined) return undefined;
  if (!Array.isArray(required) || required.some((k) => typeof k !== "string"))
    return "required must be an array of property names";
  const unknown = required.filter((k) => !props || !(k in (props as object)));
  return unknown.length ? `required names unknown properties: ${unknown.join(", ")}` : undefined;
}

/**
 * Static imports in `file` that break the rule "nothing from switchyard's src/ at run time",
 * or its syntax error (`syntax error at line L, column C: …`) when it cannot be parsed.
 */
function importProblems(file: string): string[] {
  const out: string[] = [];
  let refs: ReturnType<typeof scanImports>;
  try {
    refs = scanImports(readFileSync(file, "utf8"));
  } catch (err) {
    if (err instanceof ModuleSyntaxError) return [err.message];
    throw err;
  }
  for (const { specifier: spec } of refs) {
    if (spec === "switchyard" || spec.startsWith("switchyard/")) {
      out.push(
        `imports "${spec}" at run time: use \`import type { … } from "switchyard"\` (run-time needs come in ctx)`,
      );
    } else if (spec.startsWith(".") || isAbsolute(spec)) {
      const target = resolve(dirname(file), spec);
      if (target.startsWith(SRC_DIR + sep)) {
        out.push(
          `imports ${spec}, a path under switchyard's src/ (${relative(dirname(SRC_DIR), target)}): use \`import type\` from "switchyard" and ctx`,
        );
      }
    }
  }
  return out;
}

/**
 * The `integrations check <dir>` command: prints each warning as `warning: file: reason`,
 * each problem as `file: reason` (paths relative to the folder's parent) and a count, or a
 * short summary when there is none.
 * @returns the exit code: 1 on any problem, else 0
 */
export async function integrationsCheck(dir: string): Promise<number> {
  const r = await checkIntegrationFolder(dir);
  const show = (file: string) => (r.loaded ? relativeToFolder(r.loaded, file) : file);
  for (const w of r.warnings) process.stdout.write(`warning: ${show(w.file)}: ${w.reason}\n`);
  if (r.problems.length) {
    // By file (a stable sort keeps each file's problems in the order they were found).
    const byFile = [...r.problems].sort((a, b) => show(a.file).localeCompare(show(b.file)));
    for (const p of byFile) process.stdout.write(`${show(p.file)}: ${p.reason}\n`);
    const n = r.problems.length;
    process.stdout.write(`\n${n} problem${n === 1 ? "" : "s"} in ${r.dir}\n`);
    return 1;
  }
  const l = r.loaded!;
  const lines = [
    `${r.name}: ok (${r.dir})`,
    `  parts:    ${l.parts.join(", ")}`,
    r.routes.length ? `  routes:   ${r.routes.join(", ")}` : "",
    l.tools.length ? `  tools:    ${l.tools.map((t) => t.name).join(", ")}` : "",
    l.skills.length ? `  skills:   ${l.skills.map((f) => basename(f)).join(", ")}` : "",
    r.commands.length
      ? `  commands: ${r.commands.join(", ")} (switchyard ${r.name} <command>)`
      : "",
    l.setup?.env_vars?.length
      ? `  settings: ${l.setup.env_vars
          .map((v) => `${v.key}${v.required ? " (required)" : ""}`)
          .join(", ")}`
      : "",
  ];
  process.stdout.write(`${lines.filter(Boolean).join("\n")}\n`);
  return 0;
}
