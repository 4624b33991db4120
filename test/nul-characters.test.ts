/**
 * Issue 11 item 4: NUL characters are refused alike on SQLite and PostgreSQL (PostgreSQL
 * cannot store them in text or JSON), with 400 naming the field, before anything is stored.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(`NUL characters (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    let sid: string;
    before(async () => {
      t = await startTestApp({ backend });
      sid = await t.session("nul-session");
    });
    after(() => t.close());

    const raw = (method: string, path: string, json: string) =>
      t.api(method, path, undefined, {
        raw: json,
        headers: { "content-type": "application/json" },
      });

    test("in message content, metadata values and keys: 400 naming the field, nothing stored", async () => {
      const msg = `/api/v1/sessions/${sid}/messages`;
      const content = await raw("POST", msg, '{"content":"a\\u0000b"}');
      assert.equal(content.status, 400);
      assert.equal(content.body.detail, "Invalid body: content: must not contain NUL characters");
      const meta = await raw("POST", msg, '{"content":"ok","metadata":{"k":["x","y\\u0000"]}}');
      assert.equal(meta.status, 400);
      assert.equal(meta.body.detail, "Invalid body: metadata.k.1: must not contain NUL characters");
      const key = await raw("POST", msg, '{"content":"ok","metadata":{"a\\u0000":1}}');
      assert.equal(key.status, 400);
      assert.match(key.body.detail, /^Invalid body: metadata\.a\\u0000: must not contain NUL/);
      assert.deepEqual((await t.api("GET", msg)).body, []);
    });

    test("in a client_id and in a document: 400 naming the field", async () => {
      const s = await raw("POST", "/api/v1/sessions", '{"client_id":"c\\u0000"}');
      assert.equal(s.status, 400);
      assert.equal(s.body.detail, "Invalid body: client_id: must not contain NUL characters");
      const d = await raw("POST", "/api/v1/documents", '{"title":"t\\u0000","content":"body"}');
      assert.equal(d.status, 400);
      assert.equal(d.body.detail, "Invalid body: title: must not contain NUL characters");
    });

    test("an escaped backslash before u0000 is text, not a NUL", async () => {
      const r = await raw(
        "POST",
        `/api/v1/sessions/${sid}/messages`,
        '{"content":"path C:\\\\u0000"}',
      );
      assert.equal(r.status, 201);
    });
  });
}
