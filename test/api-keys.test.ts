/**
 * API keys over real HTTP, on SQLite and PostgreSQL: `GET /api/v1/admin/keys` lists name,
 * scopes, created_at and last_used_at (written on use, at most once a minute) and never a
 * key or its hash; `DELETE /api/v1/admin/keys/{id}` revokes, after which the key gets 401
 * on its very next request even though lookups are cached; an unknown id is 404.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { hashApiKey } from "../src/store/api-keys.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(`API keys (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
    });
    after(async () => {
      await t?.close();
    });

    test("list shows name, scopes, created_at, last_used_at and never the key or its hash", async () => {
      const { key, record } = await t.app.store.apiKeys.create("ci-reader", [
        "sessions:read",
        "tasks:read",
      ]);
      const r = await t.api("GET", "/api/v1/admin/keys");
      assert.equal(r.status, 200);
      const mine = r.body.find((k: any) => k.id === record.id);
      assert.deepEqual(Object.keys(mine).sort(), [
        "created_at",
        "id",
        "last_used_at",
        "name",
        "scopes",
      ]);
      assert.equal(mine.name, "ci-reader");
      assert.deepEqual(mine.scopes, ["sessions:read", "tasks:read"]);
      assert.equal(mine.created_at, new Date(record.createdAt).toISOString());
      assert.equal(mine.last_used_at, null);
      const text = JSON.stringify(r.body);
      assert.ok(!text.includes(key), "no key");
      assert.ok(!text.includes(hashApiKey(key)), "no hash");

      // A use records last_used_at; a second use within the minute writes nothing.
      assert.equal((await t.api("GET", "/api/v1/sessions/nope", undefined, { key })).status, 404);
      const used = (await t.api("GET", "/api/v1/admin/keys")).body.find(
        (k: any) => k.id === record.id,
      );
      assert.ok(used.last_used_at, "last_used_at set on use");
      const first = Date.parse(used.last_used_at);
      assert.ok(first >= record.createdAt);
      while (Date.now() <= first) await new Promise((res) => setImmediate(res));
      assert.equal((await t.api("GET", "/api/v1/sessions/nope", undefined, { key })).status, 404);
      const again = (await t.api("GET", "/api/v1/admin/keys")).body.find(
        (k: any) => k.id === record.id,
      );
      assert.equal(again.last_used_at, used.last_used_at, "throttled: one write a minute");
    });

    test("a key without the admin scope cannot list or revoke keys", async () => {
      const { key, record } = await t.app.store.apiKeys.create("not-admin", ["webhooks:write"]);
      const list = await t.api("GET", "/api/v1/admin/keys", undefined, { key });
      assert.equal(list.status, 403);
      assert.deepEqual(list.body, { detail: "Missing required scope: admin" });
      const del = await t.api("DELETE", `/api/v1/admin/keys/${record.id}`, undefined, { key });
      assert.equal(del.status, 403);
      assert.equal((await t.api("GET", "/api/v1/webhooks", undefined, { key })).status, 200);
    });

    test("a revoked key gets 401 on its next request; unknown or revoked ids answer 404", async () => {
      const { key, record } = await t.app.store.apiKeys.create("to-revoke", ["sessions:read"]);
      // Used first, so that its lookup sits in the auth cache.
      assert.equal((await t.api("GET", "/api/v1/sessions/nope", undefined, { key })).status, 404);
      const del = await t.api("DELETE", `/api/v1/admin/keys/${record.id}`);
      assert.equal(del.status, 204);
      const after = await t.api("GET", "/api/v1/sessions/nope", undefined, { key });
      assert.equal(after.status, 401);
      assert.deepEqual(after.body, { detail: "Invalid API key" });
      const list = (await t.api("GET", "/api/v1/admin/keys")).body;
      assert.ok(!list.some((k: any) => k.id === record.id), "no longer listed");
      const twice = await t.api("DELETE", `/api/v1/admin/keys/${record.id}`);
      assert.equal(twice.status, 404);
      assert.deepEqual(twice.body, { detail: "API key not found" });
      assert.equal((await t.api("DELETE", "/api/v1/admin/keys/no-such-key")).status, 404);
    });

    test("the list refuses unknown query parameters", async () => {
      const r = await t.api("GET", "/api/v1/admin/keys?show=secret");
      assert.equal(r.status, 400);
      assert.match(r.body.detail, /show/);
    });
  });
}
