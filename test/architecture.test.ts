/**
 * The arrows of docs/architecture.md, held by tests: the SDK is a leaf, only store/ talks
 * to the database library, the outbox depends on no domain above it, and app.ts only wires.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";

const ROOT = join(import.meta.dirname, "..");
const SRC = join(ROOT, "src");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Every import of a module: its specifier, whether it is type-only, and the resolved target. */
function importsOf(
  file: string,
): Array<{ spec: string; typeOnly: boolean; target: string | null }> {
  const text = readFileSync(file, "utf8");
  const out: Array<{ spec: string; typeOnly: boolean; target: string | null }> = [];
  const re = /^\s*(import|export)\s+(type\s+)?(?:[^;]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[3]!;
    const target = spec.startsWith(".") ? resolve(dirname(file), spec) : null;
    out.push({ spec, typeOnly: Boolean(m[2]), target });
  }
  for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = m[1]!;
    out.push({
      spec,
      typeOnly: false,
      target: spec.startsWith(".") ? resolve(dirname(file), spec) : null,
    });
  }
  return out;
}

const rel = (f: string) => relative(ROOT, f).split(sep).join("/");
const folderOf = (f: string) => rel(f).split("/")[1] ?? "";

test("the SDK imports nothing from core (only its own files, node: and framework types)", () => {
  const bad: string[] = [];
  for (const f of files(join(SRC, "sdk"))) {
    for (const i of importsOf(f)) {
      if (i.target) {
        if (!i.target.startsWith(join(SRC, "sdk") + sep)) bad.push(`${rel(f)} → ${i.spec}`);
      } else if (!i.spec.startsWith("node:") && !(i.typeOnly && i.spec === "fastify")) {
        bad.push(`${rel(f)} → ${i.spec}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

test("only src/store/ imports kysely or pg (all SQL lives in the store)", () => {
  const bad = files(SRC)
    .filter((f) => folderOf(f) !== "store")
    .flatMap((f) =>
      importsOf(f)
        .filter((i) => /^(kysely|pg)(\/|$)/.test(i.spec))
        .map((i) => `${rel(f)} → ${i.spec}`),
    );
  assert.deepEqual(bad, []);
});

test("the outbox depends on no domain above it (dispatch, events, sessions, tasks, agent, api)", () => {
  const above = new Set([
    "dispatch",
    "events",
    "sessions",
    "tasks",
    "agent",
    "api",
    "integrations",
    "hooks",
    "mcp",
  ]);
  const bad: string[] = [];
  for (const f of files(join(SRC, "outbox"))) {
    for (const i of importsOf(f)) {
      if (i.target?.startsWith(SRC + sep) && above.has(folderOf(i.target))) {
        bad.push(`${rel(f)} → ${i.spec}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

test("the store depends on nothing but the SDK's types and small helpers", () => {
  const allowed = new Set(["store", "sdk", "lib"]);
  const bad: string[] = [];
  for (const f of files(join(SRC, "store"))) {
    for (const i of importsOf(f)) {
      if (!i.target?.startsWith(SRC + sep)) continue;
      const folder = rel(i.target).split("/").length > 2 ? folderOf(i.target) : "(src root)";
      if (!allowed.has(folder) && rel(i.target) !== "src/ids.ts") bad.push(`${rel(f)} → ${i.spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("app.ts only wires: no functions of its own, no patched objects", () => {
  const text = readFileSync(join(SRC, "app.ts"), "utf8");
  assert.doesNotMatch(
    text,
    /^(export\s+)?(async\s+)?function\s/m,
    "a top-level function in app.ts",
  );
  // Class members with a body: only the constructor, create/start/stop and getters may have one.
  const members = [...text.matchAll(/^ {2}(?:static\s+)?(?:async\s+)?(#?\w+)\s*\(/gm)].map(
    (m) => m[1]!,
  );
  const wiring = new Set([
    "constructor",
    "create",
    "start",
    "stop",
    "integrationSources",
    "syncSkills",
  ]);
  assert.deepEqual(
    members.filter((m) => !wiring.has(m)),
    [],
    "methods with behaviour belong in the services app.ts builds",
  );
  // Nothing built is patched afterwards (e.g. `ctx.getOrCreateSession = …`).
  assert.doesNotMatch(
    text,
    /^\s+(?!this\.)\w+\.\w+\s*=[^=]/m,
    "app.ts assigns to another object's field",
  );
});
