/**
 * Skill sync over restarts on one database: skills of `integrations/<name>/skills/*.md` in an
 * INTEGRATION_DIRS folder are added, changed (found by content hash), removed with their
 * file, and kept with a warning when their integration shows no skill files at all (a
 * missing mount). Listed by GET /api/v1/skills. Runs on SQLite and, when configured, PostgreSQL.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import {
  ALL_BACKENDS,
  createTestDatabase,
  runsOn,
  type TestDatabase,
  tempDir,
} from "./support/db.ts";

const skillMd = (name: string, description: string, body: string) =>
  `---\nname: ${name}\ndescription: "${description}"\n---\n${body}\n`;

for (const backend of ALL_BACKENDS) {
  describe(`skill sync on ${backend}`, runsOn(backend), () => {
    const dir = tempDir("switchyard-skills-");
    const ext = join(dir.path, "ext");
    const skills = join(ext, "ops", "skills");
    let db: TestDatabase;
    let t: TestApp | undefined;

    /** (Re)starts the app on the same database with INTEGRATION_DIRS = `dirs`. */
    const start = async (dirs = ext) => {
      await t?.close();
      t = await startTestApp({ backend, keepDb: db, env: { INTEGRATION_DIRS: dirs } });
      return t;
    };
    const listOps = async (app: TestApp) => {
      const r = await app.api("GET", "/api/v1/skills?integration=ops");
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return new Map<string, any>(r.body.map((s: any) => [s.id, s]));
    };

    before(async () => {
      db = await createTestDatabase(backend);
      mkdirSync(skills, { recursive: true });
    });
    after(async () => {
      await t?.close();
      await db.drop();
      dir.remove();
    });

    test("first start adds every skill file, with front matter and hash", async () => {
      writeFileSync(join(skills, "deploy.md"), skillMd("Deploying", "How to deploy", "Step 1."));
      writeFileSync(join(skills, "triage.md"), skillMd("Triage", "Sorting issues", "Label it."));
      writeFileSync(join(skills, "_draft.md"), skillMd("Draft", "not a skill", "ignored"));
      const app = await start();
      const all = await app.api("GET", "/api/v1/skills");
      assert.ok(
        all.body.some((s: any) => s.id === "integrations/example/example"),
        "the repo's example skill is synced too",
      );
      const ops = await listOps(app);
      assert.deepEqual([...ops.keys()], ["integrations/ops/deploy", "integrations/ops/triage"]);
      const deploy = ops.get("integrations/ops/deploy");
      assert.equal(deploy.name, "Deploying");
      assert.equal(deploy.description, "How to deploy");
      assert.equal(deploy.integration, "ops");
      assert.equal(deploy.source, join(skills, "deploy.md"));
      assert.match(deploy.content_hash, /^[0-9a-f]{64}$/);
      assert.equal(deploy.content, undefined, "the list leaves content out");
      const one = await app.api("GET", "/api/v1/skills/integrations/ops/deploy");
      assert.equal(one.status, 200);
      assert.equal(one.body.content, "Step 1.", "the body without its front matter");
      const missing = await app.api("GET", "/api/v1/skills/integrations/ops/nope");
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.body, { detail: "Skill not found" });
    });

    test("a restart updates changed files, deletes removed ones, adds new ones", async () => {
      const before = await listOps(t!);
      writeFileSync(join(skills, "deploy.md"), skillMd("Deploying v2", "How to deploy", "Step 2."));
      rmSync(join(skills, "triage.md"));
      writeFileSync(join(skills, "rollback.md"), skillMd("Rollback", "Undo", "Revert it."));
      await new Promise((r) => setTimeout(r, 5)); // updated_at is in ms
      const app = await start();
      const ops = await listOps(app);
      assert.deepEqual([...ops.keys()], ["integrations/ops/deploy", "integrations/ops/rollback"]);
      const deploy = ops.get("integrations/ops/deploy");
      assert.equal(deploy.name, "Deploying v2");
      assert.notEqual(deploy.content_hash, before.get("integrations/ops/deploy").content_hash);
      assert.ok(deploy.updated_at > before.get("integrations/ops/deploy").updated_at);
      assert.equal(deploy.created_at, before.get("integrations/ops/deploy").created_at);
      const body = await app.api("GET", "/api/v1/skills/integrations/ops/deploy");
      assert.equal(body.body.content, "Step 2.");

      // Nothing changed: a sync touches nothing.
      const report = await app.app.syncSkills();
      assert.deepEqual(report.added, []);
      assert.deepEqual(report.updated, []);
      assert.deepEqual(report.removed, []);
      assert.ok(report.unchanged.includes("integrations/ops/deploy"));
      assert.deepEqual(await listOps(app), ops);
    });

    test("an integration that shows no skill files keeps its skills, with a warning", async () => {
      const kept = await listOps(t!);
      // The mount is missing: the folder is not there at all.
      const app = await start(join(dir.path, "not-mounted"));
      assert.deepEqual(await listOps(app), kept);
      const report = await app.app.syncSkills();
      assert.deepEqual(report.removed, []);
      assert.deepEqual(report.kept.sort(), [...kept.keys()].sort());
      assert.match(report.warnings.join("\n"), /integration ops shows no skill files/);

      // The folder is there but its skills/ is empty (another part keeps it an integration).
      rmSync(skills, { recursive: true });
      mkdirSync(skills);
      mkdirSync(join(ext, "ops", "tools"));
      writeFileSync(
        join(ext, "ops", "tools", "ops_ping.ts"),
        'export default { name: "ops_ping", description: "ping", parameters: { type: "object", properties: {} }, execute: () => "pong" };\n',
      );
      const again = await start();
      assert.ok(again.app.integrations.get("ops"), "ops still loads (it has a tool)");
      assert.deepEqual(await listOps(again), kept);
    });

    test("an orphan skill can be deleted by an admin", async () => {
      const app = t!;
      const del = await app.api("DELETE", "/api/v1/skills/integrations/ops/rollback");
      assert.equal(del.status, 204);
      assert.deepEqual([...(await listOps(app)).keys()], ["integrations/ops/deploy"]);
      const again = await app.api("DELETE", "/api/v1/skills/integrations/ops/rollback");
      assert.equal(again.status, 404);
    });
  });
}
