/**
 * The small admin reads the UI needs — GET /api/v1/admin/models (the last start-up model
 * check, never a probe per request, secret-free) and GET /api/v1/admin/tools — and a key's
 * revocation ending its cookie sessions at once on this instance, however long the lookup
 * cache (`authCacheMs`) is.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ModelCheckResult } from "../src/agent/model-check-result.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { recordModelCheck } from "./support/ui-seed.ts";

test("the model check result cuts endpoints and URLs in reasons to scheme://host", () => {
  const r = new ModelCheckResult();
  r.record(
    [
      {
        spec: "openai-compatible:m",
        ok: false,
        endpoint: "http://user:pw-0123@10.0.0.1:8080/v1?key=tok-abc",
        reason: "HTTP 401 from http://user:pw-0123@10.0.0.1:8080/v1?key=tok-abc/models",
        bots: [{ id: "default", fallback: false }],
      },
      { spec: "ollama:x", ok: true, endpoint: "http://127.0.0.1:11434/v1", bots: [] },
    ],
    1_700_000_000_000,
  );
  const got = r.get()!;
  assert.equal(got.checkedAt, 1_700_000_000_000);
  assert.equal(got.models[0]!.endpoint, "http://10.0.0.1:8080");
  assert.equal(got.models[0]!.reason, "HTTP 401 from http://10.0.0.1:8080");
  assert.doesNotMatch(JSON.stringify(got), /pw-0123|tok-abc|user/);
  assert.equal(got.models[1]!.reason, null);
});

for (const backend of ALL_BACKENDS) {
  describe(`admin read endpoints and revocation (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      // Lookups cached for 10 minutes: only dropping the entries on revoke can end a session.
      t = await startTestApp({ backend, tuning: { authCacheMs: 600_000 } });
    });
    after(async () => {
      await t?.close();
    });

    test("GET /api/v1/admin/models: null until the start-up check ran, then its result; no probe per request", async () => {
      const first = await t.api("GET", "/api/v1/admin/models");
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, { checked_at: null, models: [] });
      await recordModelCheck(t);
      const probes = t.llm.requests.length;
      const r = await t.api("GET", "/api/v1/admin/models");
      assert.equal(r.body.models.length, 1);
      const [m] = r.body.models;
      assert.equal(m.spec, "openai-compatible:fake-model");
      assert.equal(m.ok, true);
      assert.equal(m.endpoint, new URL(t.llm.baseUrl).origin);
      assert.deepEqual(m.bots, [{ id: "default", fallback: false }]);
      assert.ok(Date.parse(r.body.checked_at) > 0);
      await t.api("GET", "/api/v1/admin/models");
      assert.equal(t.llm.requests.length, probes, "reading it asks the model endpoint nothing");
      const { key } = await t.app.store.apiKeys.create("reader", ["tasks:read"]);
      assert.equal((await t.api("GET", "/api/v1/admin/models", undefined, { key })).status, 403);
    });

    test("GET /api/v1/admin/tools lists the registry by name", async () => {
      const r = await t.api("GET", "/api/v1/admin/tools");
      assert.equal(r.status, 200);
      const docs = r.body.find((x: { name: string }) => x.name === "search_documents");
      assert.ok(docs, JSON.stringify(r.body));
      assert.equal(docs.source, "core");
      assert.equal(typeof docs.description, "string");
      assert.deepEqual(Object.keys(docs).sort(), ["description", "name", "source"]);
    });

    test("a revoked key's cookie session and bearer use end at once, with a 10-minute lookup cache", async () => {
      const { key, record } = await t.app.store.apiKeys.create("cached", ["sessions:read"]);
      const signIn = await fetch(`${t.url}/api/v1/auth/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ api_key: key }),
      });
      assert.equal(signIn.status, 200);
      const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
      const withCookie = () =>
        fetch(`${t.url}/api/v1/sessions`, { headers: { cookie } }).then((r) => r.status);
      // Both lookups are now cached.
      assert.equal(await withCookie(), 200);
      assert.equal((await t.api("GET", "/api/v1/sessions", undefined, { key })).status, 200);
      assert.equal((await t.api("DELETE", `/api/v1/admin/keys/${record.id}`)).status, 204);
      assert.equal(await withCookie(), 401, "the cookie session ended with its key");
      assert.equal((await t.api("GET", "/api/v1/sessions", undefined, { key })).status, 401);
    });
  });
}
