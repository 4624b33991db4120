/**
 * Whether an integration folder carries the packages it imports. A folder is a plugin: it
 * must work wherever it sits on disk, so every bare package its modules import at run time
 * must be declared in the folder's own `package.json` (`dependencies`,
 * `optionalDependencies` or `peerDependencies`) and be installed where Node resolves it
 * from the folder (its `node_modules`, or a parent directory's for a package the folder
 * expects its surroundings to provide, declared as a peer). A package that is found only
 * because the folder happens to sit inside switchyard's own tree (the server's
 * `node_modules`) is the leak this module exists to report.
 *
 * Not checked: Node built-ins (`node:fs`, `fs`), relative and absolute paths, URLs,
 * `#subpath` imports, the folder's own package name, `import type` / `export type` (erased
 * at run time) and `"switchyard"` (integrations take only types from it; `integrations
 * check` reports a run-time import of it). `import { type A } from "x"` is NOT type-only:
 * Node keeps it as `import {} from "x"` and loads `x`.
 *
 * The scan strips types as Node does and lexes the module (see {@link scanImports}); it
 * runs no code of the folder.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire, isBuiltin, stripTypeScriptTypes } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { parse as parseModule } from "es-module-lexer/js";

/** One import found in a module's source. */
export interface ImportRef {
  specifier: string;
  /** 1-based line of the specifier. */
  line: number;
}

/** A problem with a file's imports, as the loader records it (`file: reason`). */
export interface ImportProblem {
  file: string;
  reason: string;
}

/**
 * A module's source cannot be parsed. The message reads
 * `syntax error at line L, column C: <what the parser says>`; the parser's own error
 * (amaro's plain object, es-module-lexer's or V8's SyntaxError) is `cause`.
 */
export class ModuleSyntaxError extends SyntaxError {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column (UTF-16 code units from the start of the line). */
  readonly column: number;
  /** What the parser says, without the position. */
  readonly detail: string;
  constructor(detail: string, line: number, column: number, cause?: unknown) {
    super(`syntax error at line ${line}, column ${column}: ${detail}`, { cause });
    this.name = "ModuleSyntaxError";
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}

/** amaro's parse failure: a plain object (not an Error) with 1-based lines, 0-based columns. */
interface AmaroSyntaxError {
  code: "InvalidSyntax";
  message: string;
  startLine: number;
  startColumn: number;
}

function isAmaroSyntaxError(err: unknown): err is AmaroSyntaxError {
  const e = err as Partial<AmaroSyntaxError> | null;
  return (
    typeof e === "object" &&
    e !== null &&
    e.code === "InvalidSyntax" &&
    typeof e.startLine === "number" &&
    typeof e.startColumn === "number"
  );
}

/**
 * The run-time imports of a JS or TS module: static imports and re-exports, and `import("x")`
 * with a literal specifier. TypeScript is first stripped of its types by Node's own type
 * stripping (`stripTypeScriptTypes` of `node:module`, the stripper that loads `.ts` files),
 * so `import type`, `export type` and `typeof import("x")` disappear and
 * `import { type A } from "x"` stays, as at run time; the ES module lexer (`es-module-lexer`,
 * the one bundlers use) then lists the imports. Positions are kept by the stripping, so
 * lines are the source's. `require()` is not listed (integration modules are ES modules).
 * @throws ModuleSyntaxError (line and column of the source) when the module cannot be parsed
 */
export function scanImports(source: string): ImportRef[] {
  let code = source;
  if (/\bimport\b|\bexport\b/.test(source)) {
    try {
      code = stripTypes(source);
    } catch (err) {
      if ((err as { code?: unknown }).code !== "ERR_INVALID_TYPESCRIPT_SYNTAX") throw err;
      throw locateTypeScriptSyntaxError(source, err);
    }
  }
  let imports: ReturnType<typeof parseModule>[0];
  try {
    [imports] = parseModule(code);
  } catch (err) {
    const at = (err as { idx?: unknown }).idx;
    if (typeof at !== "number") throw err;
    const line = lineAt(code, at);
    const column = at - code.lastIndexOf("\n", at - 1);
    throw new ModuleSyntaxError("the module cannot be parsed", line, column, err);
  }
  const out: ImportRef[] = [];
  for (const i of imports) {
    if (i.n === undefined || i.d === -2) continue; // import.meta, or a computed import()
    out.push({ specifier: i.n, line: lineAt(code, i.s) });
  }
  return out;
}

/**
 * `source` with its types replaced by spaces (Node's `stripTypeScriptTypes`, mode `strip`).
 * Node 24 marks that function experimental and warns once on first use; that one warning is
 * kept off the server's stderr, where it would read as a problem of switchyard's own.
 * @throws Error with code ERR_INVALID_TYPESCRIPT_SYNTAX (no position) or
 *   ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX (e.g. an `enum`)
 */
function stripTypes(source: string): string {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).startsWith("stripTypeScriptTypes is an experimental feature")) return;
    return (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return stripTypeScriptTypes(source, { mode: "strip" });
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * The position of the syntax error Node's stripper found in `source` but does not locate:
 * `amaro` (the package Node embeds, whose errors carry line and column) parses it again.
 * It is loaded only here, for a broken module, so that a server whose modules parse never
 * holds a second copy of the stripper (about 9 MB of RSS). Should amaro parse what Node
 * refused (the two versions disagreeing), the error is placed at line 1, column 1.
 */
function locateTypeScriptSyntaxError(source: string, nodeError: unknown): ModuleSyntaxError {
  const { transformSync } = createRequire(import.meta.url)("amaro") as typeof import("amaro");
  try {
    transformSync(source, { mode: "strip-only" });
  } catch (err) {
    if (isAmaroSyntaxError(err)) {
      return new ModuleSyntaxError(err.message, err.startLine, err.startColumn + 1, err);
    }
  }
  const detail = (nodeError as Error).message;
  return new ModuleSyntaxError(detail, 1, 1, nodeError);
}

/** 1-based line of offset `at` in `text`. */
function lineAt(text: string, at: number): number {
  let line = 1;
  for (let k = text.indexOf("\n"); k !== -1 && k < at; k = text.indexOf("\n", k + 1)) line++;
  return line;
}

/**
 * The npm package a specifier names (`@scope/pkg/sub` → `@scope/pkg`, `pkg/sub` → `pkg`),
 * or undefined for a built-in, a relative or absolute path, a URL or a `#subpath` import.
 */
export function packageOf(specifier: string): string | undefined {
  if (/^[./#]/.test(specifier) || specifier === "") return undefined;
  if (/^[A-Za-z][A-Za-z\d+.-]*:/.test(specifier)) return undefined; // node:, file:, data:, https:
  if (isBuiltin(specifier)) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Module files that may be imported at run time (JS and TS, not declaration files). */
export const MODULE_FILE_RE = /\.(?:[mc]?ts|[mc]?js)$/;

/** Every module file in `dir`, recursively; `node_modules` and `.` folders are skipped. */
export function moduleFilesOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      if (e.name.startsWith(".") || e.name === "node_modules") return [];
      const p = join(dir, e.name);
      if (e.isDirectory()) return moduleFilesOf(p);
      return MODULE_FILE_RE.test(e.name) && !/\.d\.[mc]?ts$/.test(e.name) ? [p] : [];
    })
    .sort();
}

/** What a folder's package.json says about its dependencies. */
interface Manifest {
  name?: string;
  /** dependencies, optionalDependencies and peerDependencies. */
  declared: Set<string>;
  /** devDependencies (accepted only in the folder's own tests, which the server never loads). */
  dev: Set<string>;
  problem?: ImportProblem;
}

function readManifest(dir: string): Manifest {
  const file = join(dir, "package.json");
  const empty: Manifest = { declared: new Set(), dev: new Set() };
  if (!existsSync(file)) return empty;
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    if (!pkg || typeof pkg !== "object" || Array.isArray(pkg)) throw new Error("not an object");
  } catch (err) {
    return {
      ...empty,
      problem: { file, reason: `not a valid package.json: ${(err as Error).message}` },
    };
  }
  const keys = (field: string) => {
    const v = pkg[field];
    return v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : [];
  };
  return {
    ...(typeof pkg.name === "string" ? { name: pkg.name } : {}),
    declared: new Set([
      ...keys("dependencies"),
      ...keys("optionalDependencies"),
      ...keys("peerDependencies"),
    ]),
    dev: new Set(keys("devDependencies")),
  };
}

/** The `node_modules` folder holding `pkg` that Node would find from `dir` (walking up), if any. */
function installedFrom(dir: string, pkg: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, "node_modules", pkg))) return join(d, "node_modules");
    if (dirname(d) === d) return undefined;
  }
}

/** What the scan of one file found. */
interface Scan {
  missing: Missing[];
  /** Absolute paths of the folder's modules it imports. */
  relatives: string[];
  /** Why the file cannot be parsed, if it cannot. */
  syntax?: ModuleSyntaxError;
}

/** One missing package of one file: `why` completes `imports "<pkg>", <why>`. */
interface Missing {
  file: string;
  pkg: string;
  why: string;
}

/**
 * The import check of one folder; files are read when first asked about. Problems are
 * phrased for the loader's error list: `imports "left-pad", which is not installed for
 * this folder (…)`.
 */
export class FolderImports {
  readonly dir: string;
  readonly #manifest: Manifest;
  readonly #scans = new Map<string, Scan>();

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.#manifest = readManifest(this.dir);
  }

  /** The folder's package.json when it cannot be read, else undefined. */
  get manifestProblem(): ImportProblem | undefined {
    return this.#manifest.problem;
  }

  #scan(file: string): Scan {
    const known = this.#scans.get(file);
    if (known) return known;
    const result: Scan = { missing: [], relatives: [] };
    this.#scans.set(file, result);
    let source: string;
    try {
      source = readFileSync(file, "utf8");
    } catch {
      return result; // the import itself will report it
    }
    const isTest = /\.test\.[mc]?[jt]s$/.test(file);
    const seen = new Set<string>();
    let refs: ImportRef[];
    try {
      refs = scanImports(source);
    } catch (err) {
      if (!(err instanceof ModuleSyntaxError)) throw err;
      result.syntax = err;
      return result;
    }
    for (const ref of refs) {
      if (/^\.\.?\//.test(ref.specifier)) {
        result.relatives.push(resolve(dirname(file), ref.specifier));
        continue;
      }
      const pkg = packageOf(ref.specifier);
      if (!pkg || pkg === "switchyard" || pkg === this.#manifest.name || seen.has(pkg)) continue;
      seen.add(pkg);
      const why = this.#why(pkg, isTest);
      if (why) result.missing.push({ file, pkg, why });
    }
    return result;
  }

  /** Why `pkg` is not the folder's own, or undefined when it is declared and installed. */
  #why(pkg: string, isTest: boolean): string | undefined {
    const m = this.#manifest;
    const found = installedFrom(this.dir, pkg);
    if (m.declared.has(pkg) || (isTest && m.dev.has(pkg))) {
      return found
        ? undefined
        : "which the folder's package.json declares but is not installed (run npm install in the folder)";
    }
    if (!found) {
      return "which is not installed for this folder (add it to its package.json and run npm install there)";
    }
    const add = `add it to the folder's package.json "dependencies" and run npm install there`;
    return found.startsWith(this.dir + sep)
      ? `which the folder's package.json does not declare (${add})`
      : `which the folder's package.json does not declare: it resolves only from ${found}, outside the folder (${add})`;
  }

  /**
   * The problems that keep `file` from loading: its own syntax error or missing packages,
   * and those of the folder's modules it imports at run time (followed through relative
   * imports), phrased `imports "x" through _helper.ts, which …` or `imports _helper.ts,
   * which has a syntax error at line L, column C: …`. Empty when the file may be imported.
   */
  problemsOf(file: string): ImportProblem[] {
    const start = resolve(file);
    const out: ImportProblem[] = [];
    const visited = new Set<string>();
    const visit = (f: string) => {
      if (visited.has(f) || !(f === this.dir || f.startsWith(this.dir + sep))) return;
      visited.add(f);
      const { missing, relatives, syntax } = this.#scan(f);
      if (syntax) {
        out.push({
          file: start,
          reason:
            f === start
              ? syntax.message
              : `imports ${relative(this.dir, f)}, which has a ${syntax.message}`,
        });
      }
      for (const m of missing) {
        const through = f === start ? "" : ` through ${relative(this.dir, f)}`;
        out.push({ file: start, reason: `imports "${m.pkg}"${through}, ${m.why}` });
      }
      for (const r of relatives) if (existsSync(r)) visit(r);
    };
    visit(start);
    return out;
  }

  /** Every module file's own problems (tests included), for whole-folder checks. */
  allProblems(): ImportProblem[] {
    return moduleFilesOf(this.dir).flatMap((f) => {
      const scan = this.#scan(f);
      return [
        ...(scan.syntax ? [{ file: f, reason: scan.syntax.message }] : []),
        ...scan.missing.map((m) => ({ file: f, reason: `imports "${m.pkg}", ${m.why}` })),
      ];
    });
  }
}
