/**
 * `integrations check`, `integrations list`, the loader (admin API) and the skill sync
 * agree on a skill without (complete) front matter: it loads, named after its file, and
 * all of them report the same warning; check does not fail the folder for it.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { tempDir } from "./support/db.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");

describe("skills without front matter", () => {
  const dir = tempDir("switchyard-skill-fm-");
  const folder = join(dir.path, "loose");
  let t: TestApp;

  before(async () => {
    mkdirSync(join(folder, "skills"), { recursive: true });
    writeFileSync(join(folder, "skills", "plain.md"), "Just text, no front matter.\n");
    writeFileSync(join(folder, "skills", "half.md"), "---\nname: Half\n---\nSome text.\n");
    writeFileSync(
      join(folder, "skills", "full.md"),
      "---\nname: Full\ndescription: Complete\n---\nText.\n",
    );
    t = await startTestApp({ env: { INTEGRATION_DIRS: dir.path } });
  });
  after(async () => {
    await t.close();
    dir.remove();
  });

  test("check, list, the loader and the sync load them and give the same warning", async () => {
    const check = await runCommand(
      join(ROOT, "bin/switchyard"),
      ["integrations", "check", folder],
      dir.path,
    );
    assert.equal(check.code, 0, check.out + check.err);
    assert.match(check.out, /^loose: ok/m);
    const checkWarnings = new Map(
      [...check.out.matchAll(/^warning: loose\/skills\/(\w+)\.md: (.+)$/gm)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    assert.deepEqual([...checkWarnings.keys()].sort(), ["half", "plain"], check.out);
    assert.match(checkWarnings.get("plain")!, /no front matter/);
    assert.match(checkWarnings.get("half")!, /no description/);

    const admin = await t.api("GET", "/api/v1/admin/integrations");
    const loose = admin.body.find((i: any) => i.folder === "loose");
    assert.equal(loose.status, "ready", JSON.stringify(loose));
    const apiWarnings = new Map(
      loose.warnings.map((w: any) => [w.file.replace(/^.*\/(\w+)\.md$/, "$1"), w.reason]),
    );
    assert.deepEqual(apiWarnings, checkWarnings);

    const list = await runCommand(
      join(ROOT, "bin/switchyard"),
      ["integrations", "list"],
      dir.path,
      {
        INTEGRATION_DIRS: dir.path,
        SWITCHYARD_DATA_DIR: join(dir.path, "data"),
      },
    );
    assert.equal(list.code, 0, list.err);
    assert.ok(
      list.out.includes(`    warning: loose/skills/plain.md: ${checkWarnings.get("plain")}`),
      list.out,
    );

    const plain = await t.api("GET", "/api/v1/skills/integrations/loose/plain");
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    assert.equal(plain.body.name, "plain");
    assert.equal(plain.body.description, "");
    const half = await t.api("GET", "/api/v1/skills/integrations/loose/half");
    assert.equal(half.body.name, "Half");
  });
});
