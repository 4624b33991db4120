/**
 * House rules (DESIGN §2): src/ never imports integrations/ and never names a brand (not
 * even config.ts: a provider's settings are its folder's setup.ts, its notification format
 * its notifier.ts); integrations import nothing from src/ and no npm package they do not
 * declare.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const ROOT = join(import.meta.dirname, "..");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const sources = files(join(ROOT, "src")).map((f) => ({
  path: relative(ROOT, f),
  text: readFileSync(f, "utf8"),
}));

test("nothing in src/ imports from integrations/", () => {
  const shipped = join(ROOT, "integrations");
  const bad: string[] = [];
  for (const s of sources) {
    for (const m of s.text.matchAll(/(?:from\s+|import\()["'](\.[^"']+)["']/g)) {
      const target = resolve(dirname(join(ROOT, s.path)), m[1]!);
      if (target === shipped || target.startsWith(`${shipped}/`)) bad.push(`${s.path} → ${m[1]}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("no file in src/ names a brand", () => {
  const brands = /\b(github|slack|telegram|discord|gmail|jira|linear)\b/i;
  const bad = sources.filter((s) => brands.test(s.text));
  assert.deepEqual(
    bad.map((s) => `${s.path}: ${brands.exec(s.text)?.[0]}`),
    [],
  );
});

test("outside store/ nothing reaches the database handle: services call repositories", () => {
  const bad = sources
    .filter((s) => !s.path.startsWith(join("src", "store") + "/"))
    .flatMap((s) =>
      [...s.text.matchAll(/\.(?:db\.kysely|k)\b(?!\s*[:(])/g)].map((m) => `${s.path}: ${m[0]}`),
    );
  assert.deepEqual(bad, []);
});

test("store/ has one repository style: no exported function takes a database handle", () => {
  // The migration runner is the database opener's step (db.ts), not a repository.
  const allowed = new Set(["src/store/migrations.ts: migrateToLatest"]);
  const bad = sources
    .filter((s) => s.path.startsWith(join("src", "store") + "/"))
    .flatMap((s) =>
      [...s.text.matchAll(/^export\s+(?:async\s+)?function\s+(\w+)[^(]*\(([^)]*)\)/gm)]
        .filter((m) => /\b(Kysely|Transaction)</.test(m[2]!))
        .map((m) => `${s.path.split("\\").join("/")}: ${m[1]}`),
    )
    .filter((x) => !allowed.has(x));
  assert.deepEqual(bad, []);
});

test('no integration imports a path under src/ (only `import type` from "switchyard")', () => {
  const integrationFiles = files(join(ROOT, "integrations")).map((f) => ({
    path: relative(ROOT, f),
    text: readFileSync(f, "utf8"),
  }));
  assert.ok(integrationFiles.length > 0);
  const bad = integrationFiles.filter(
    (s) =>
      /from\s+["'][^"']*\/src\//.test(s.text) ||
      /import\(["'][^"']*\/src\//.test(s.text) ||
      /^import\s+(?!type\b)[^;]*from\s+["']switchyard["']/m.test(s.text),
  );
  assert.deepEqual(
    bad.map((s) => s.path),
    [],
  );
});

/** Run-time module specifiers of a JS/TS file, by TypeScript's parser (type-only ones left out). */
function runtimeImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      if (!node.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
        out.push(node.moduleSpecifier.text);
      }
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === "require")) &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

test("no integration imports a bare npm package it does not declare in its own package.json", () => {
  const root = join(ROOT, "integrations");
  const folders = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory());
  assert.ok(folders.length > 0);
  const modules = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      if (e.name === "node_modules" || e.name.startsWith(".")) return [];
      const p = join(dir, e.name);
      if (e.isDirectory()) return modules(p);
      return /\.(?:ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
    });
  const bad: string[] = [];
  let checked = 0;
  for (const f of folders) {
    const dir = join(root, f.name);
    const pkgFile = join(dir, "package.json");
    const pkg = existsSync(pkgFile) ? JSON.parse(readFileSync(pkgFile, "utf8")) : {};
    for (const file of modules(dir)) {
      const isTest = /\.test\.[mc]?[jt]s$/.test(file);
      const declared = { ...pkg.dependencies, ...(isTest ? pkg.devDependencies : {}) };
      for (const spec of runtimeImports(file)) {
        checked++;
        if (/^[./]/.test(spec) || spec.startsWith("node:") || isBuiltin(spec)) continue;
        const name = spec.startsWith("@")
          ? spec.split("/").slice(0, 2).join("/")
          : spec.split("/")[0]!;
        if (!(name in declared)) bad.push(`${relative(ROOT, file)} → ${spec}`);
      }
    }
  }
  assert.ok(checked > 10, `${checked} imports checked`);
  assert.deepEqual(bad, []);
});
