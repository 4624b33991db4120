/**
 * `integrations list` and the admin API agree on an integration's status: a required
 * setting stored through `PUT /api/v1/admin/integrations/{id}/settings` (encrypted at rest)
 * counts for the CLI too, on SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { scaffoldIntegration } from "../src/cli/new-integration.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");
const SECRET_KEY = "cli-settings-secret-key-0123456789";

/** The status column of `name`'s row in `integrations list` output. */
function listedStatus(out: string, name: string): string | undefined {
  const row = out.split("\n").find((l) => l.startsWith(`${name} `));
  return row?.split(/\s+/)[1];
}

for (const backend of ALL_BACKENDS) {
  describe(`integrations list reads stored settings (${backend})`, runsOn(backend), () => {
    const dir = tempDir("switchyard-cli-settings-");
    let t: TestApp;
    const list = () =>
      runCommand(join(ROOT, "bin/switchyard"), ["integrations", "list"], dir.path, {
        SWITCHYARD_LOG_LEVEL: "warn",
        DATABASE_URL: t.db.url,
        SWITCHYARD_SECRET_KEY: SECRET_KEY,
        INTEGRATION_DIRS: dir.path,
        SWITCHYARD_DATA_DIR: join(dir.path, "data"),
      });
    const apiStatus = async () => {
      const r = await t.api("GET", "/api/v1/admin/integrations");
      return r.body.find((i: { folder: string }) => i.folder === "demo")?.status;
    };

    before(async () => {
      scaffoldIntegration("demo", dir.path);
      t = await startTestApp({
        backend,
        env: { INTEGRATION_DIRS: dir.path, SWITCHYARD_SECRET_KEY: SECRET_KEY },
      });
    });
    after(async () => {
      await t.close();
      dir.remove();
    });

    test("a required setting stored through the admin API makes list say ready, as the API does", async () => {
      assert.equal(await apiStatus(), "not_configured");
      const before = await list();
      assert.equal(before.code, 0, before.err);
      assert.equal(listedStatus(before.out, "demo"), "not_configured", before.out);
      assert.match(before.out, /missing required setting: DEMO_WEBHOOK_SECRET/);

      const put = await t.api("PUT", "/api/v1/admin/integrations/demo/settings", {
        settings: { DEMO_WEBHOOK_SECRET: "stored-through-the-api" },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(await apiStatus(), "ready");

      const now = await list();
      assert.equal(now.code, 0, now.err);
      assert.equal(listedStatus(now.out, "demo"), "ready", now.out);
      assert.doesNotMatch(now.out, /missing required setting: DEMO_WEBHOOK_SECRET/);
      assert.doesNotMatch(now.out + now.err, /stored-through-the-api/);
    });
  });
}
