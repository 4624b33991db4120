/** Issue 11 item 5: a JSON body nested too deep is refused at the door (400), never a 500. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MAX_JSON_DEPTH } from "../src/lib/json-guards.ts";
import { startTestApp, type TestApp } from "./support/app.ts";

/** `{"a":{"a":…{"a":1}…}}`, `levels` objects deep. */
const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{"a":1}${"}".repeat(levels - 1)}`;

describe("JSON nesting depth", () => {
  let t: TestApp;
  let sid: string;
  before(async () => {
    t = await startTestApp();
    sid = await t.session("json-depth");
  });
  after(() => t.close());

  const post = (metadata: string, content = "hello") =>
    t.api("POST", `/api/v1/sessions/${sid}/messages`, undefined, {
      raw: `{"content":${JSON.stringify(content)},"metadata":${metadata}}`,
      headers: { "content-type": "application/json" },
    });

  test("a body 10,000 levels deep gets 400 naming the limit, and nothing is stored", async () => {
    const r = await post(nested(10_000));
    assert.equal(r.status, 400);
    assert.equal(r.body.detail, `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    const list = await t.api("GET", `/api/v1/sessions/${sid}/messages`);
    assert.equal(list.body.length, 0);
  });

  test("one level over the limit is refused; at the limit it is accepted and stored", async () => {
    // The body's own object is one level, so metadata may be MAX - 1 deep.
    assert.equal((await post(nested(MAX_JSON_DEPTH))).status, 400);
    const ok = await post(nested(MAX_JSON_DEPTH - 1));
    assert.equal(ok.status, 201);
  });

  test("brackets inside strings do not count", async () => {
    const r = await post('{"note":"[[[[{{{{"}', "[".repeat(5000));
    assert.equal(r.status, 201);
  });
});
