/**
 * An integration folder carries its own packages: a module whose bare imports are not
 * declared in the folder's package.json, or not installed where Node resolves them from
 * the folder, is reported with the package named and skipped, by the server (which still
 * starts), `integrations list` and `integrations check`. The import scanner is held
 * against TypeScript's own parser over every source file of the repository. Folders live
 * under the system temp directory, outside the repository, so no parent `node_modules`
 * of switchyard's can answer for them unless a test puts one there.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import ts from "typescript";
import { checkIntegrationFolder } from "../src/cli/integrations-check.ts";
import { scanImports } from "../src/integrations/imports.ts";
import { type LoadedIntegration, loadIntegration } from "../src/integrations/loader.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { tempDir } from "./support/db.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");

/** Writes `files` (path → content) under `dir`. */
function write(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/**
 * A tiny installed package `left-pad` in `<dir>/node_modules`: it pads, and counts its own
 * imports in `globalThis.__leftPadLoads` so a test can tell whether it was ever loaded.
 */
function installLeftPad(dir: string): void {
  write(join(dir, "node_modules", "left-pad"), {
    "package.json": JSON.stringify({
      name: "left-pad",
      version: "1.3.0",
      type: "module",
      exports: "./index.js",
    }),
    "index.js":
      "globalThis.__leftPadLoads = (globalThis.__leftPadLoads ?? 0) + 1;\n" +
      'export default function leftPad(s, n, c = " ") { return String(s).padStart(n, c); }\n',
  });
}

const PAD_TOOL = `import leftPad from "left-pad";
import type { ToolDefinition } from "switchyard";

export default {
  name: "pad_it",
  description: "Pad text on the left",
  parameters: { type: "object", properties: { s: { type: "string" } }, required: ["s"] },
  execute: async (args: { s: string }) => leftPad(args.s, 6, "*"),
} satisfies ToolDefinition;
`;
const PLAIN_TOOL = `import type { ToolDefinition } from "switchyard";
export default {
  name: "plain_tool",
  description: "Needs no package",
  parameters: { type: "object", properties: {} },
  execute: async () => "plain",
} satisfies ToolDefinition;
`;
/** A folder: a tool importing left-pad, a router importing it through a helper, a plain tool. */
const FOLDER = {
  "tools/pad.ts": PAD_TOOL,
  "tools/plain.ts": PLAIN_TOOL,
  "_util.ts": 'import leftPad from "left-pad";\nexport const pad = (s: string) => leftPad(s, 4);\n',
  "router.ts": `import type { RouterDefinition } from "switchyard";
import { pad } from "./_util.ts";
const router: RouterDefinition = async (app) => {
  app.get("/pad", { config: { auth: "self" } }, async () => ({ padded: pad("x") }));
};
export default router;
`,
};

const NOT_INSTALLED =
  'imports "left-pad", which is not installed for this folder (add it to its package.json and run npm install there)';

const load = (dir: string): Promise<LoadedIntegration> =>
  loadIntegration({ name: dir.split("/").pop()!, dir, source: dirname(dir), overrides: [] }, true);

/** `file: reason` of each load error, the file relative to the folder. */
const errorsOf = (l: LoadedIntegration) =>
  l.errors.map((e) => `${relative(l.dir, e.file)}: ${e.reason}`);

const toolOutput = async (l: LoadedIntegration, name: string) =>
  l.tools.find((t) => t.name === name)!.execute({ s: "ab" }, {} as never);

describe("integration folders carry their own packages", () => {
  const tmp = tempDir("switchyard-imports-");
  after(() => tmp.remove());

  test("an undeclared, uninstalled package: the error names it; that file is skipped, the rest loads", async () => {
    const dir = join(tmp.path, "a", "padder");
    write(dir, FOLDER);
    const l = await load(dir);
    assert.deepEqual(errorsOf(l).sort(), [
      `router.ts: imports "left-pad" through _util.ts, ${NOT_INSTALLED.slice('imports "left-pad", '.length)}`,
      `tools/pad.ts: ${NOT_INSTALLED}`,
    ]);
    assert.deepEqual(
      l.tools.map((t) => t.name),
      ["plain_tool"],
    );
    assert.equal(l.router, undefined);
    assert.equal(await toolOutput(l, "plain_tool"), "plain");
  });

  test("declared in the folder's package.json and installed in its node_modules: it loads and runs", async () => {
    const dir = join(tmp.path, "b", "padder");
    write(dir, {
      ...FOLDER,
      "package.json": JSON.stringify({
        name: "padder",
        private: true,
        type: "module",
        dependencies: { "left-pad": "^1.3.0" },
      }),
    });
    installLeftPad(dir);
    const l = await load(dir);
    assert.deepEqual(l.errors, []);
    assert.deepEqual(l.tools.map((t) => t.name).sort(), ["pad_it", "plain_tool"]);
    assert.ok(l.router);
    assert.equal(await toolOutput(l, "pad_it"), "****ab");
  });

  test("declared but not installed: the error says to run npm install in the folder", async () => {
    const dir = join(tmp.path, "c", "padder");
    write(dir, {
      "tools/pad.ts": PAD_TOOL,
      "package.json": JSON.stringify({ type: "module", dependencies: { "left-pad": "1" } }),
    });
    const l = await load(dir);
    assert.deepEqual(errorsOf(l), [
      `tools/pad.ts: imports "left-pad", which the folder's package.json declares but is not installed (run npm install in the folder)`,
    ]);
  });

  test("found only in a parent directory's node_modules and not declared: refused and never imported; declared as a peer it loads", async () => {
    const parent = join(tmp.path, "d");
    installLeftPad(parent);
    const dir = join(parent, "integrations", "padder");
    write(dir, { "tools/pad.ts": PAD_TOOL });
    const g = globalThis as { __leftPadLoads?: number };
    const before = g.__leftPadLoads ?? 0;
    const l = await load(dir);
    assert.deepEqual(errorsOf(l), [
      `tools/pad.ts: imports "left-pad", which the folder's package.json does not declare: it resolves only from ${join(parent, "node_modules")}, outside the folder (add it to the folder's package.json "dependencies" and run npm install there)`,
    ]);
    assert.equal(g.__leftPadLoads ?? 0, before, "the package was never loaded");

    write(dir, {
      "package.json": JSON.stringify({ type: "module", peerDependencies: { "left-pad": "*" } }),
    });
    const peer = await load(dir);
    assert.deepEqual(peer.errors, []);
    assert.equal(await toolOutput(peer, "pad_it"), "****ab");
    assert.equal(g.__leftPadLoads, before + 1);
  });

  test("type-only imports need nothing; `import { type X }` is a run-time import, as Node keeps it", async () => {
    const dir = join(tmp.path, "e", "typed");
    write(dir, {
      "tools/typed.ts": `import type { Options } from "undeclared-types";
export type { Other } from "undeclared-types-too";
import { join } from "node:path";
import { readFileSync } from "fs";
const opts: Options | undefined = undefined;
export default { name: "typed_tool", description: "d", parameters: { type: "object", properties: {} }, execute: async () => join("a", String(opts ?? "b")) };
`,
      "tools/inline.ts": `import { type Options } from "inline-type-pkg";
export default { name: "inline_tool", description: "d", parameters: { type: "object", properties: {} }, execute: async () => "x" as unknown as Options };
`,
    });
    const l = await load(dir);
    assert.deepEqual(
      l.tools.map((t) => t.name),
      ["typed_tool"],
    );
    assert.deepEqual(errorsOf(l), [
      `tools/inline.ts: imports "inline-type-pkg", which is not installed for this folder (add it to its package.json and run npm install there)`,
    ]);
  });

  test("integrations check reports the same errors (exit 1), in process and through the CLI", async () => {
    const dir = join(tmp.path, "a", "padder");
    const report = await checkIntegrationFolder(dir, {});
    assert.ok(
      report.problems.some(
        (p) => relative(dir, p.file) === "tools/pad.ts" && p.reason === NOT_INSTALLED,
      ),
      JSON.stringify(report.problems),
    );
    const cli = await runCommand(
      join(ROOT, "bin/switchyard"),
      ["integrations", "check", dir],
      tmp.path,
      {
        SWITCHYARD_LOG_LEVEL: "warn",
      },
    );
    assert.equal(cli.code, 1, cli.out + cli.err);
    assert.match(
      cli.out,
      /^padder\/tools\/pad\.ts: imports "left-pad", which is not installed for this folder \(add it to its package\.json and run npm install there\)$/m,
    );
    assert.match(
      cli.out,
      /^padder\/router\.ts: imports "left-pad" through _util\.ts, which is not installed/m,
    );

    const list = await runCommand(
      join(ROOT, "bin/switchyard"),
      ["integrations", "list"],
      tmp.path,
      {
        SWITCHYARD_LOG_LEVEL: "warn",
        INTEGRATION_DIRS: join(tmp.path, "a"),
        SWITCHYARD_DATA_DIR: join(tmp.path, "data"),
      },
    );
    assert.match(
      list.out,
      /error: padder\/tools\/pad\.ts: imports "left-pad", which is not installed/,
    );
    // The scan strips types with Node's experimental stripTypeScriptTypes: its warning stays off.
    assert.doesNotMatch(list.err, /ExperimentalWarning|stripTypeScriptTypes/);
  });

  test("the shipped folders import only what they declare: they load without errors", async () => {
    for (const name of ["example", "github"]) {
      const l = await load(join(ROOT, "integrations", name));
      assert.deepEqual(l.errors, [], name);
    }
  });
});

describe("the server starts with such a folder and reports it", () => {
  const tmp = tempDir("switchyard-imports-app-");
  let t: TestApp;
  before(async () => {
    write(join(tmp.path, "ext", "padder"), FOLDER);
    t = await startTestApp({ env: { INTEGRATION_DIRS: join(tmp.path, "ext") } });
  });
  after(async () => {
    await t.close();
    tmp.remove();
  });

  test("the folder is partial with the package named; its other parts are registered", async () => {
    const rec = t.app.integrations.get("padder")!;
    assert.equal(rec.status, "partial");
    assert.ok(
      rec.errors.some((e) => e.file.endsWith("tools/pad.ts") && e.reason === NOT_INSTALLED),
      JSON.stringify(rec.errors),
    );
    assert.ok(t.app.tools.get("plain_tool"));
    assert.equal(t.app.tools.get("pad_it"), undefined);
    assert.deepEqual(t.app.integrations.get("github")?.errors, [], "other folders load");
    const health = await fetch(`${t.url}/healthz`);
    assert.equal(health.status, 200);
  });
});

describe("the import scanner", () => {
  test("finds run-time and type imports, and nothing in comments, strings, templates or regexes", () => {
    const src = `// import x from "in-line-comment";
/* import y from "in-block-comment"; */
import a, { b as c,
  d } from "multi-line";
import type { T } from "type-only";
import type D from "type-default";
import { type U } from "inline-type";
import type from "default-named-type";
import * as ns from "@scope/pkg/sub";
import "side-effect";
export * from "re-export";
export { e } from "./local.ts";
export type { F } from "type-re-export";
const s = 'import z from "in-a-string"';
const re = /["'\`]import q from "in-a-regex"/g;
const tpl = \`import w from "in-a-template" \${await import("in-template-expr")} \${ { a: 1 }.a }\`;
const lazy = await import("dynamic");
const meta = import.meta.url;
obj.import("member-call");
const r = require("required");
type M = typeof import("typeof-import");
const half = 10 / 2; const after = "x" / 1; import last from "after-division";
`;
    assert.deepEqual(
      scanImports(src).map((r) => `${r.specifier}@${r.line}`),
      [
        "multi-line@4",
        "inline-type@7",
        "default-named-type@8",
        "@scope/pkg/sub@9",
        "side-effect@10",
        "re-export@11",
        "./local.ts@12",
        "in-template-expr@16",
        "dynamic@17",
        "after-division@22",
      ],
    );
  });

  test("agrees with TypeScript's parser on every source file of the repository", () => {
    const files = ["src", "integrations", "test", "bench", "scripts"].flatMap((d) =>
      tsFiles(join(ROOT, d)),
    );
    assert.ok(files.length > 100, `${files.length} files`);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const mine = scanImports(text)
        .map((r) => r.specifier)
        .sort();
      // What Node loads: type-only imports are erased, `require` is not an ES import.
      const runTime = typescriptImports(file, text).filter(
        (s) => !s.startsWith("type ") && !s.startsWith("require "),
      );
      assert.deepEqual(mine, runTime, relative(ROOT, file));
    }
  });
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name.startsWith(".")) return [];
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return /\.[mc]?ts$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Imports of a file as TypeScript's AST has them (the oracle for the scanner). */
function typescriptImports(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(`${node.importClause?.isTypeOnly ? "type " : ""}${node.moduleSpecifier.text}`);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push(`${node.isTypeOnly ? "type " : ""}${node.moduleSpecifier.text}`);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const lit = node.argument.literal;
      if (ts.isStringLiteral(lit)) out.push(`type ${lit.text}`);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === "require")) &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      const isRequire = node.expression.kind !== ts.SyntaxKind.ImportKeyword;
      out.push(`${isRequire ? "require " : ""}${node.arguments[0].text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out.sort();
}
