/** House rules (DESIGN §2): src/ never imports integrations/ and never names a brand outside config.ts. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

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

test("no file in src/ but config.ts (and the notification formats) names a brand", () => {
  const brands = /\b(github|slack|telegram|discord|gmail|jira|linear)\b/i;
  // The one exception: notification channels post the chat providers' incoming-webhook
  // formats by name (seed 003), and that module is the only one that knows them.
  const allowed = [join("src", "config.ts"), join("src", "events", "notification-payloads.ts")];
  const bad = sources.filter((s) => !allowed.includes(s.path) && brands.test(s.text));
  assert.deepEqual(
    bad.map((s) => `${s.path}: ${brands.exec(s.text)?.[0]}`),
    [],
  );
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
