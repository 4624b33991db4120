/**
 * The integrations state over REST (`GET /api/v1/state`), the git auto-commit routes and
 * their scopes, and `switchyard state export` reading the same database without a server.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EVENT_NAMES } from "../src/events/outbound-types.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");
const SECRET = "whsec-state-test-secret-0123456789";

for (const backend of ALL_BACKENDS) {
  describe(`integrations state (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    let cap: CaptureServer;
    const dir = tempDir();

    before(async () => {
      cap = await startCaptureServer();
      t = await startTestApp({ backend });
    });
    after(async () => {
      await t.close();
      await cap.close();
      dir.remove();
    });

    test("a fresh state: version 1, epoch updated_at, defaults, nothing listed", async () => {
      const r = await t.api("GET", "/api/v1/state");
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, {
        version: 1,
        updated_at: new Date(0).toISOString(),
        webhooks: [],
        git_auto_commit: {
          enabled: false,
          on_events: ["session.end", "roadmap.exported", "task.sync"],
        },
        notifications: [],
      });
    });

    test("git auto-commit over REST: get, put (admin), 400 listing the valid events or for wrong types", async () => {
      assert.deepEqual((await t.api("GET", "/api/v1/git-auto-commit")).body, {
        enabled: false,
        on_events: ["session.end", "roadmap.exported", "task.sync"],
      });
      const put = await t.api("PUT", "/api/v1/git-auto-commit", {
        enabled: true,
        on_events: ["session.end", "task.completed"],
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(put.body, { enabled: true, on_events: ["session.end", "task.completed"] });
      const bad = await t.api("PUT", "/api/v1/git-auto-commit", { on_events: ["nope"] });
      assert.equal(bad.status, 400);
      assert.match(bad.body.detail, /nope/);
      for (const n of EVENT_NAMES) assert.ok(bad.body.detail.includes(n), n);
      assert.equal((await t.api("PUT", "/api/v1/git-auto-commit", { enabled: "yes" })).status, 400);
      assert.deepEqual((await t.api("GET", "/api/v1/git-auto-commit")).body, put.body);
    });

    test("scopes: webhooks:read reads; writing needs webhooks:write, settings need admin", async () => {
      const { key: reader } = await t.app.store.apiKeys.create("reader", ["webhooks:read"]);
      const { key: writer } = await t.app.store.apiKeys.create("writer", ["webhooks:write"]);
      const { key: other } = await t.app.store.apiKeys.create("other", ["tasks:read"]);
      for (const path of ["/api/v1/state", "/api/v1/notifications", "/api/v1/git-auto-commit"]) {
        assert.equal((await t.api("GET", path, undefined, { key: reader })).status, 200, path);
        assert.equal((await t.api("GET", path, undefined, { key: other })).status, 403, path);
        assert.equal((await t.api("GET", path, undefined, { key: null })).status, 401, path);
      }
      const note = { channel: "webhook", message: "x", webhook_url: `${cap.url}/scoped` };
      assert.equal(
        (await t.api("POST", "/api/v1/notifications", note, { key: reader })).status,
        403,
      );
      assert.equal(
        (await t.api("PUT", "/api/v1/git-auto-commit", { enabled: false }, { key: writer })).status,
        403,
      );
      assert.equal(cap.requests.length, 0);
    });

    test("the state gathers webhooks (no secrets), settings and notifications; version and updated_at move", async () => {
      const s0 = (await t.api("GET", "/api/v1/state")).body;
      const hook = await t.api("POST", "/api/v1/webhooks", {
        url: `${cap.url}/events`,
        events: ["task.completed"],
        secret: SECRET,
      });
      assert.ok(hook.status === 201 || hook.status === 200, JSON.stringify(hook.body));
      const n = await t.api("POST", "/api/v1/notifications", {
        channel: "webhook",
        message: "state check",
        webhook_url: `${cap.url}/note`,
      });
      assert.equal(n.body.delivered, true);
      await t.api("PUT", "/api/v1/git-auto-commit", { enabled: false });

      const s1 = (await t.api("GET", "/api/v1/state")).body;
      assert.equal(s1.version, s0.version + 1, "one more settings write");
      assert.ok(s1.updated_at > s0.updated_at);
      assert.deepEqual(s1.git_auto_commit, {
        enabled: false,
        on_events: ["session.end", "task.completed"],
      });
      assert.equal(s1.webhooks.length, 1);
      assert.equal(s1.webhooks[0].url, `${cap.url}/events`);
      assert.equal(s1.webhooks[0].has_secret, true);
      assert.equal("secret" in s1.webhooks[0], false);
      assert.ok(!JSON.stringify(s1).includes(SECRET), "the secret never appears");
      assert.equal(s1.notifications[0].id, n.body.notification_id);
      assert.equal(s1.notifications[0].delivered, true);
      assert.ok(s1.updated_at >= s1.notifications[0].created_at);
    });

    test("`switchyard state export` writes the same state as the API, to stdout or a 0600 file", async () => {
      const env = {
        DATABASE_URL: t.db.url,
        SWITCHYARD_DATA_DIR: join(dir.path, "data"),
        SWITCHYARD_LOG_LEVEL: "warn",
      };
      const api = (await t.api("GET", "/api/v1/state")).body;
      const out = await runCommand(
        join(ROOT, "bin/switchyard"),
        ["state", "export"],
        dir.path,
        env,
      );
      assert.equal(out.code, 0, out.err);
      assert.deepEqual(JSON.parse(out.out), api);
      assert.ok(!out.out.includes(SECRET));

      const file = join(dir.path, "state.json");
      const toFile = await runCommand(
        join(ROOT, "bin/switchyard"),
        ["state", "export", "--output", "state.json"],
        dir.path,
        env,
      );
      assert.equal(toFile.code, 0, toFile.err);
      assert.equal(toFile.out, "");
      assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), api);
      assert.equal(statSync(file).mode & 0o777, 0o600);
    });
  });
}

test("`switchyard state export` fails with the reason when the database cannot be opened", async () => {
  const dir = tempDir();
  try {
    const r = await runCommand(join(ROOT, "bin/switchyard"), ["state", "export"], dir.path, {
      DATABASE_URL: "postgres://nobody:pw-not-shown@127.0.0.1:1/none",
      SWITCHYARD_LOG_LEVEL: "warn",
    });
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot open the database/);
    assert.doesNotMatch(r.err, /pw-not-shown/);
    assert.equal(r.out, "");
  } finally {
    dir.remove();
  }
});
