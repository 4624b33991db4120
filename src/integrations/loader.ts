/**
 * Loading one integration folder: import each module, check its export against the
 * contract (src/sdk/) and collect the definitions. Nothing is registered here, and a
 * file that fails to import or validate is recorded with its reason and skipped, so one
 * bad file never stops the folder's other parts, nor other integrations.
 *
 * Before a module is imported, the packages it needs at run time (its own bare imports and
 * those of the folder's modules it imports) must be the folder's own: declared in the
 * folder's package.json and installed where Node resolves them from the folder
 * (./imports.ts). A module that would only work through switchyard's own `node_modules`
 * is skipped with the missing package named.
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { skillFrontMatterWarning } from "../lib/front-matter.ts";
import { createJobBody } from "../scheduler/schemas.ts";
import { LIFECYCLE_EVENTS } from "../sdk/hooks.ts";
import type {
  AdapterDefinition,
  DispatcherDefinition,
  HooksDefinition,
  IntegrationMetadata,
  JobDefinition,
  NotifierDefinition,
  ProcessDefinition,
  RouterDefinition,
  RuntimeProviderDefinition,
  SetupManifest,
  ToolDefinition,
} from "../sdk/index.ts";
import type { JsonSchemaObject } from "../sdk/tools.ts";
import { type DiscoveredFolder, findModule, listFiles, MODULE_EXTENSIONS } from "./discovery.ts";
import { FolderImports, ModuleSyntaxError } from "./imports.ts";

/** A tool as loaded: JSON-Schema parameters, the file it came from. */
export interface LoadedTool {
  name: string;
  description: string;
  parameters: JsonSchemaObject;
  execute: ToolDefinition["execute"];
  file: string;
}

/** One problem found while loading. */
export interface LoadError {
  file: string;
  reason: string;
}

/** Everything a folder defines, validated, plus what went wrong. */
export interface LoadedIntegration extends DiscoveredFolder {
  metadata: Required<Pick<IntegrationMetadata, "id" | "name">> & { version: string | null };
  /** Parts present and valid: index, setup, config, router, dispatcher, adapter, notifier, runtime, hooks, process, jobs, tools, skills. */
  parts: string[];
  setup: SetupManifest | null;
  router?: RouterDefinition;
  dispatcher?: DispatcherDefinition;
  adapter?: AdapterDefinition;
  notifier?: NotifierDefinition;
  /** `runtime.ts`: a runtime provider factory, registered under the folder's name. */
  runtime?: RuntimeProviderDefinition;
  hooks?: HooksDefinition;
  process?: ProcessDefinition;
  tools: LoadedTool[];
  /** Skill files (`skills/*.md`). */
  skills: string[];
  /** The job definitions of `jobs.ts` (absent when there is none or it failed to load). */
  jobs?: JobDefinition[];
  /** Parts that could not be used, with the reason. */
  errors: LoadError[];
  /**
   * Things that load but are probably not what the author meant (a skill without front
   * matter: {@link skillFrontMatterWarning}); shown by `integrations check` and `list`.
   */
  warnings: LoadError[];
}

let generation = 0;

async function importModule(file: string, fresh: boolean): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file);
  // A new query string makes a reload import the file again instead of the cached module.
  if (fresh) url.search = `?load=${++generation}`;
  return (await import(url.href)) as Record<string, unknown>;
}

/**
 * Why importing `file` failed, as the loader records it. A SyntaxError only V8 finds (the
 * import scan parses the file first, so most never get here) is given the line and column
 * of its stack's first frame (`<file>:<line>`, the source line, a caret under the column):
 * `syntax error at line L, column C: <V8's message>`, naming the file when it is another
 * module the file imports.
 */
export function importFailure(err: unknown, file: string): string {
  if (!(err instanceof SyntaxError) || err instanceof ModuleSyntaxError || !err.stack) {
    return (err as Error)?.message ?? String(err);
  }
  const m = /^(.+):(\d+)\r?\n.*\r?\n( *)\^/.exec(err.stack);
  if (!m) return err.message;
  let where = m[1]!;
  if (where.startsWith("file:")) where = fileURLToPath(where.replace(/\?[^/]*$/, ""));
  const at = new ModuleSyntaxError(err.message, Number(m[2]), m[3]!.length + 1, err).message;
  return where === file ? at : `${where}: ${at}`;
}

/** The module's definition: its default export, else the named export `name`. */
function definitionOf(mod: Record<string, unknown>, name: string): unknown {
  return mod.default ?? mod[name];
}

const envVarSpec = z.looseObject({
  key: z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be an UPPER_SNAKE_CASE name"),
  required: z.boolean().optional(),
  secret: z.boolean().optional(),
  description: z.string().optional(),
  default: z.string().optional(),
});
const setupSchema = z.looseObject({
  env_vars: z.array(envVarSpec).optional(),
  webhook: z.looseObject({ path: z.string(), description: z.string().optional() }).optional(),
  sidebar_section: z.record(z.string(), z.unknown()).optional(),
  dashboard_modules: z.array(z.record(z.string(), z.unknown())).optional(),
  activation: z.record(z.string(), z.unknown()).optional(),
});
const metadataSchema = z.looseObject({
  id: z.string().optional(),
  name: z.string().optional(),
  version: z.string().optional(),
});
const processSchema = z.strictObject({
  description: z.string(),
  command: z.array(z.string()).min(1, "must name a program"),
  requiredEnv: z.array(z.string()).optional(),
  singleton: z.boolean().optional(),
});
const hooksSchema = z.looseObject({
  meta: z
    .looseObject({
      integration_type: z.string().optional(),
      client_id_prefix: z.string().optional(),
    })
    .optional(),
  hooks: z
    .partialRecord(
      z.enum(LIFECYCLE_EVENTS),
      z.custom<(...a: unknown[]) => unknown>((f) => typeof f === "function", "must be a function"),
    )
    .optional(),
});

function issueText(err: z.ZodError): string {
  const i = err.issues[0]!;
  return `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}`;
}

/**
 * Normalises a tool export (plain form, or the seed's OpenAI function form; Zod or JSON
 * Schema parameters) to a {@link LoadedTool}.
 * @throws Error with the reason it does not fit the contract
 */
export function normaliseTool(value: unknown, file: string): LoadedTool {
  const v = value as Record<string, any>;
  if (!v || typeof v !== "object") throw new Error("must export a tool definition object");
  const fn = v.type === "function" && v.function ? v.function : v;
  const name = fn.name;
  if (typeof name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
    throw new Error("tool name must be 1–64 letters, digits, _ or -");
  }
  if (typeof v.execute !== "function") throw new Error(`tool ${name}: execute must be a function`);
  let parameters: unknown = fn.parameters ?? { type: "object", properties: {} };
  if (parameters && typeof parameters === "object" && "_zod" in parameters) {
    parameters = z.toJSONSchema(parameters as z.ZodType, { io: "input" });
  }
  if ((parameters as { type?: unknown })?.type !== "object") {
    throw new Error(`tool ${name}: parameters must be a JSON Schema (or Zod) object schema`);
  }
  return {
    name,
    description: typeof fn.description === "string" ? fn.description : "",
    parameters: parameters as JsonSchemaObject,
    execute: v.execute,
    file,
  };
}

/**
 * Imports one tool file (a definition, or an array of them, as its default export).
 * @throws Error with the reason the file does not fit the contract
 */
export async function loadToolFile(file: string, fresh = false): Promise<LoadedTool[]> {
  const mod = await importModule(file, fresh);
  const def = definitionOf(mod, basename(file).replace(/\.[mc]?[jt]s$/, ""));
  return (Array.isArray(def) ? def : [def]).map((t) => normaliseTool(t, file));
}

/**
 * Loads a discovered folder.
 * @param fresh import modules anew (for a reload) instead of reusing cached ones
 */
export async function loadIntegration(
  folder: DiscoveredFolder,
  fresh = false,
): Promise<LoadedIntegration> {
  // Only the folder's fields: a record passed back in (a reload) must not keep old parts.
  const { name, dir, source, overrides } = folder;
  const out: LoadedIntegration = {
    name,
    dir,
    source,
    overrides,
    metadata: { id: folder.name, name: folder.name, version: null },
    parts: [],
    setup: null,
    tools: [],
    skills: [],
    errors: [],
    warnings: [],
  };
  const imports = new FolderImports(folder.dir);
  if (imports.manifestProblem) out.errors.push(imports.manifestProblem);
  /** Records why `file` cannot be imported (a package that is not the folder's own). */
  const blocked = (file: string): boolean => {
    const problems = imports.problemsOf(file);
    out.errors.push(...problems);
    return problems.length > 0;
  };
  const attempt = async (
    part: string,
    fn: (mod: Record<string, unknown>, file: string) => void,
  ) => {
    const file = findModule(folder.dir, part);
    if (!file || blocked(file)) return;
    try {
      fn(await importModule(file, fresh), file);
      out.parts.push(part);
    } catch (err) {
      out.errors.push({ file, reason: importFailure(err, file) });
    }
  };

  await attempt("index", (mod) => {
    const r = metadataSchema.safeParse(definitionOf(mod, "metadata") ?? {});
    if (!r.success) throw new Error(issueText(r.error));
    out.metadata = {
      id: r.data.id ?? folder.name,
      name: r.data.name ?? folder.name,
      version: r.data.version ?? null,
    };
  });
  await attempt("setup", (mod) => {
    const r = setupSchema.safeParse(definitionOf(mod, "setup"));
    if (!r.success) throw new Error(`setup manifest: ${issueText(r.error)}`);
    out.setup = r.data as SetupManifest;
  });
  await attempt("config", () => {});
  await attempt("router", (mod) => {
    const d = definitionOf(mod, "router");
    if (typeof d !== "function")
      throw new Error("must export a Fastify plugin function (app, ctx) => …");
    out.router = d as RouterDefinition;
  });
  await attempt("dispatcher", (mod) => {
    const d = definitionOf(mod, "dispatcher");
    if (typeof d !== "function") throw new Error("must export a function (ctx) => Dispatcher");
    out.dispatcher = d as DispatcherDefinition;
  });
  await attempt("adapter", (mod) => {
    const d = definitionOf(mod, "adapter");
    if (typeof d !== "function") throw new Error("must export a function (ctx) => Adapter");
    out.adapter = d as AdapterDefinition;
  });
  await attempt("notifier", (mod) => {
    const d = definitionOf(mod, "notifier");
    if (typeof d !== "function") throw new Error("must export a function (ctx) => Notifier");
    out.notifier = d as NotifierDefinition;
  });
  await attempt("runtime", (mod) => {
    const d = definitionOf(mod, "runtime");
    if (typeof d !== "function") throw new Error("must export a function (ctx) => RuntimeProvider");
    out.runtime = d as RuntimeProviderDefinition;
  });
  await attempt("hooks", (mod) => {
    const d = definitionOf(mod, "hooks");
    const r = hooksSchema.safeParse(d);
    if (!r.success) throw new Error(`hooks: ${issueText(r.error)}`);
    out.hooks = d as HooksDefinition;
  });
  await attempt("process", (mod) => {
    const r = processSchema.safeParse(definitionOf(mod, "process"));
    if (!r.success) throw new Error(`process: ${issueText(r.error)}`);
    out.process = r.data;
  });
  await attempt("jobs", (mod) => {
    const d = definitionOf(mod, "jobs");
    if (!Array.isArray(d)) throw new Error("must export an array of job definitions");
    const names = new Set<string>();
    for (const [i, def] of d.entries()) {
      const r = createJobBody.safeParse(def);
      if (!r.success) throw new Error(`job ${i}: ${issueText(r.error)}`);
      if (names.has(r.data.name)) throw new Error(`job ${i}: name '${r.data.name}' is used twice`);
      names.add(r.data.name);
    }
    out.jobs = d as JobDefinition[];
  });
  for (const file of listFiles(folder.dir, "tools", MODULE_EXTENSIONS)) {
    if (blocked(file)) continue;
    try {
      out.tools.push(...(await loadToolFile(file, fresh)));
    } catch (err) {
      out.errors.push({ file, reason: importFailure(err, file) });
    }
  }
  if (out.tools.length) out.parts.push("tools");
  for (const file of listFiles(folder.dir, "skills", [".md"])) {
    try {
      const warning = skillFrontMatterWarning(readFileSync(file, "utf8"));
      if (warning) out.warnings.push({ file, reason: warning });
      out.skills.push(file);
    } catch (err) {
      out.errors.push({ file, reason: (err as Error).message });
    }
  }
  if (out.skills.length) out.parts.push("skills");
  return out;
}

/** The path of a folder file, for messages relative to its integration. */
export function relativeToFolder(loaded: { dir: string }, file: string): string {
  return file.startsWith(loaded.dir)
    ? join(basename(loaded.dir), file.slice(loaded.dir.length + 1))
    : file;
}
