/**
 * Issue 11 item 14: every error is `{"detail"}` and echoes no input, also for errors Fastify
 * raises before routing; a JSON body that is not UTF-8 is refused, not patched.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";

describe("error bodies", () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  const get = async (path: string) => {
    const r = await fetch(`${t.url}${path}`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
    });
    return { status: r.status, text: await r.text() };
  };

  test("an over-long path segment: 414 {detail}, the URL not echoed", async () => {
    const marker = `secret-looking-${"x".repeat(300)}`;
    const r = await get(`/api/v1/sessions/${marker}`);
    assert.equal(r.status, 414);
    assert.deepEqual(Object.keys(JSON.parse(r.text)), ["detail"]);
    assert.ok(!r.text.includes("secret-looking"), r.text);
  });

  test("a malformed percent-encoding: 400 {detail}, the URL not echoed", async () => {
    const r = await get("/api/v1/sessions/echo-me-%E0%A4%A");
    assert.equal(r.status, 400);
    assert.deepEqual(Object.keys(JSON.parse(r.text)), ["detail"]);
    assert.ok(!r.text.includes("echo-me"), r.text);
  });

  test("a JSON body with invalid UTF-8: 400 naming it, nothing stored", async () => {
    const sid = await t.session("bad-utf8");
    const body = Buffer.concat([
      Buffer.from('{"content":"caf'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const r = await fetch(`${t.url}/api/v1/sessions/${sid}/messages`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
    });
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), { detail: "Request body is not valid UTF-8" });
    const list = await t.api("GET", `/api/v1/sessions/${sid}/messages`);
    assert.deepEqual(list.body, []);
  });
});
