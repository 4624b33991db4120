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
 * The scan is lexical (comments, strings, template literals and regular expressions are
 * skipped), not a full parse: it finds static `import … from`, `import "x"`,
 * `export … from`, `import("x")` with a literal and `require("x")`. A type written as
 * `import("x").T` counts as a run-time import (only `typeof import("x")` is known to be a
 * type); write `import type` instead.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";

/** One import found in a module's source. */
export interface ImportRef {
  specifier: string;
  /** Erased at run time (`import type`, `export type`). */
  typeOnly: boolean;
  /** 1-based line of the specifier. */
  line: number;
}

/** A problem with a file's imports, as the loader records it (`file: reason`). */
export interface ImportProblem {
  file: string;
  reason: string;
}

type Tok = { t: "name" | "str" | "num" | "tmpl" | "punct"; v: string; line: number };

/** Keywords after which `/` starts a regular expression, not a division. */
const BEFORE_EXPRESSION = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

/** Splits JS/TS source into the tokens the import scan needs. */
function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  const braces: Array<"{" | "${"> = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  /** Scans template text from `i` to its closing backtick or a `${`. */
  const template = (): void => {
    while (i < n) {
      const c = src[i]!;
      if (c === "\\") i += 2;
      else if (c === "`") {
        i++;
        out.push({ t: "tmpl", v: "", line });
        return;
      } else if (c === "$" && src[i + 1] === "{") {
        i += 2;
        braces.push("${");
        return;
      } else {
        if (c === "\n") line++;
        i++;
      }
    }
  };
  const regexAllowed = (): boolean => {
    const p = out[out.length - 1];
    if (!p) return true;
    if (p.t === "name") return BEFORE_EXPRESSION.has(p.v);
    if (p.t === "punct") return p.v !== ")" && p.v !== "]" && p.v !== "}";
    return false;
  };
  while (i < n) {
    const c = src[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < n && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (; i < stop; i++) if (src[i] === "\n") line++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let v = "";
      while (j < n && src[j] !== c && src[j] !== "\n") {
        if (src[j] === "\\") {
          v += src[j + 1] ?? "";
          j += 2;
        } else v += src[j++];
      }
      out.push({ t: "str", v, line });
      i = j + 1;
    } else if (c === "`") {
      i++;
      template();
    } else if (c === "/" && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== "\n") {
        const d = src[j];
        if (d === "\\") j++;
        else if (d === "[") inClass = true;
        else if (d === "]") inClass = false;
        else if (d === "/" && !inClass) break;
        j++;
      }
      j++;
      while (j < n && /[A-Za-z]/.test(src[j]!)) j++;
      out.push({ t: "num", v: "", line });
      i = j;
    } else if (/[A-Za-z_$\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w$\u0080-\uffff]/.test(src[j]!)) j++;
      out.push({ t: "name", v: src.slice(i, j), line });
      i = j;
    } else if (/\d/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w.]/.test(src[j]!)) j++;
      out.push({ t: "num", v: "", line });
      i = j;
    } else if (c === "{") {
      braces.push("{");
      out.push({ t: "punct", v: c, line });
      i++;
    } else if (c === "}") {
      i++;
      if (braces.pop() === "${") template();
      else out.push({ t: "punct", v: c, line });
    } else {
      out.push({ t: "punct", v: c, line });
      i++;
    }
  }
  return out;
}

const CLAUSE_PUNCT = new Set(["{", "}", ",", "*"]);

/** The specifier after `from` in the import/export clause starting at token `j`, if any. */
function clauseSpecifier(toks: Tok[], j: number): Tok | undefined {
  for (let m = j; m < toks.length && m < j + 1000; m++) {
    const tok = toks[m]!;
    if (tok.t === "name" && tok.v === "from" && toks[m + 1]?.t === "str") return toks[m + 1];
    if (tok.t === "punct" && !CLAUSE_PUNCT.has(tok.v)) return undefined;
    if (tok.t === "num" || tok.t === "tmpl") return undefined;
  }
  return undefined;
}

/**
 * The imports of a JS or TS module: static imports and re-exports, `import("x")` and
 * `require("x")` with a literal specifier, each marked type-only or not.
 */
export function scanImports(source: string): ImportRef[] {
  const toks = tokenize(source);
  const out: ImportRef[] = [];
  const add = (tok: Tok | undefined, typeOnly: boolean) => {
    if (tok) out.push({ specifier: tok.v, typeOnly, line: tok.line });
  };
  const is = (k: number, t: Tok["t"], v?: string) =>
    toks[k]?.t === t && (v === undefined || toks[k]!.v === v);
  for (let k = 0; k < toks.length; k++) {
    const tok = toks[k]!;
    if (tok.t !== "name" || is(k - 1, "punct", ".")) continue;
    if (tok.v === "import") {
      if (is(k + 1, "punct", ".")) continue; // import.meta
      if (is(k + 1, "punct", "(")) {
        if (is(k + 2, "str") && (is(k + 3, "punct", ")") || is(k + 3, "punct", ","))) {
          add(toks[k + 2], is(k - 1, "name", "typeof")); // `typeof import("x")` is a type
        }
      } else if (is(k + 1, "str")) {
        add(toks[k + 1], false);
      } else {
        // `import type X from`, `import type {…} from`, `import type * as` are type-only;
        // `import type from "x"` and `import type, {…} from "x"` import a binding named type.
        const typeOnly =
          is(k + 1, "name", "type") &&
          !(is(k + 2, "name", "from") && is(k + 3, "str")) &&
          !is(k + 2, "punct", ",");
        add(clauseSpecifier(toks, k + 1), typeOnly);
      }
    } else if (tok.v === "export") {
      if (is(k + 1, "name", "type")) add(clauseSpecifier(toks, k + 2), true);
      else if (is(k + 1, "punct", "*") || is(k + 1, "punct", "{")) {
        add(clauseSpecifier(toks, k + 1), false);
      }
    } else if (tok.v === "require" && is(k + 1, "punct", "(") && is(k + 2, "str")) {
      if (is(k + 3, "punct", ")")) add(toks[k + 2], false);
    }
  }
  return out;
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
  readonly #scans = new Map<string, { missing: Missing[]; relatives: string[] }>();

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.#manifest = readManifest(this.dir);
  }

  /** The folder's package.json when it cannot be read, else undefined. */
  get manifestProblem(): ImportProblem | undefined {
    return this.#manifest.problem;
  }

  #scan(file: string): { missing: Missing[]; relatives: string[] } {
    const known = this.#scans.get(file);
    if (known) return known;
    const result = { missing: [] as Missing[], relatives: [] as string[] };
    this.#scans.set(file, result);
    let source: string;
    try {
      source = readFileSync(file, "utf8");
    } catch {
      return result; // the import itself will report it
    }
    const isTest = /\.test\.[mc]?[jt]s$/.test(file);
    const seen = new Set<string>();
    for (const ref of scanImports(source)) {
      if (ref.typeOnly) continue;
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
   * The problems that keep `file` from loading: its own missing packages, and those of the
   * folder's modules it imports at run time (followed through relative imports), phrased
   * `imports "x" through _helper.ts, which …`. Empty when the file may be imported.
   */
  problemsOf(file: string): ImportProblem[] {
    const start = resolve(file);
    const out: ImportProblem[] = [];
    const visited = new Set<string>();
    const visit = (f: string) => {
      if (visited.has(f) || !(f === this.dir || f.startsWith(this.dir + sep))) return;
      visited.add(f);
      const { missing, relatives } = this.#scan(f);
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
    return moduleFilesOf(this.dir).flatMap((f) =>
      this.#scan(f).missing.map((m) => ({ file: f, reason: `imports "${m.pkg}", ${m.why}` })),
    );
  }
}
