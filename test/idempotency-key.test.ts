/**
 * Issue 11 item 13: `Idempotency-Key` on POST /api/v1/sessions/{id}/messages. The key is
 * recorded through the same dedupe path as provider delivery ids (an inbound receipt in the
 * message's transaction): a retry with the same key and body gets the first answer again
 * and creates nothing; the same key with another body is refused with 422; a malformed key
 * with 400. Keys are scoped per session and per API key. Over real HTTP, SQLite and
 * PostgreSQL.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(`Idempotency-Key on posted messages (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      // The task worker stays idle (tasks are counted, not run).
      t = await startTestApp({ backend, tuning: { pollMs: 60_000 } });
    });
    after(() => t.close());

    const post = (sid: string, body: Record<string, unknown>, key?: string, apiKey?: string) =>
      t.api("POST", `/api/v1/sessions/${sid}/messages`, body, {
        headers: key === undefined ? {} : { "idempotency-key": key },
        ...(apiKey ? { key: apiKey } : {}),
      });
    const userMessages = async (sid: string) =>
      (await t.api("GET", `/api/v1/sessions/${sid}/messages`)).body.filter(
        (m: any) => m.role === "user",
      );

    test("same key and body: the first answer again (status, ids), no second message or task", async () => {
      const sid = await t.session(`idem-same-${backend}`);
      const body = { content: "deploy it", run_agent: true, notify: false };
      const first = await post(sid, body, "retry-1");
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.ok(first.body.task_id);
      const again = await post(
        sid,
        { run_agent: true, notify: false, content: "deploy it" },
        "retry-1",
      );
      assert.equal(again.status, 201);
      assert.deepEqual(again.body, first.body);
      assert.equal((await userMessages(sid)).length, 1);
      const task = await t.api("GET", `/api/v1/tasks/${first.body.task_id}`);
      assert.equal(task.status, 200);
      // Without a key, a repeat is a new message.
      assert.equal((await post(sid, body)).status, 201);
      assert.equal((await userMessages(sid)).length, 2);
    });

    test("same key, other body: 422 naming the header; nothing stored", async () => {
      const sid = await t.session(`idem-other-${backend}`);
      assert.equal((await post(sid, { content: "one" }, "k-2")).status, 201);
      const r = await post(sid, { content: "two" }, "k-2");
      assert.equal(r.status, 422);
      assert.match(
        r.body.detail,
        /^Idempotency-Key was already used in this session with a different body/,
      );
      assert.deepEqual(
        (await userMessages(sid)).map((m: any) => m.content),
        ["one"],
      );
    });

    test("a key that is empty, longer than 255 characters or not printable ASCII: 400", async () => {
      const sid = await t.session(`idem-bad-${backend}`);
      for (const key of ["", "x".repeat(256), "caf\u00e9", "tab\there"]) {
        const r = await post(sid, { content: "x" }, key);
        assert.equal(r.status, 400, `${JSON.stringify(key)}: ${JSON.stringify(r.body)}`);
        assert.match(
          r.body.detail,
          /^Invalid Idempotency-Key header: 1–255 printable ASCII characters/,
        );
      }
      assert.equal((await post(sid, { content: "x" }, "x".repeat(255))).status, 201);
      assert.equal((await userMessages(sid)).length, 1);
    });

    test("keys are scoped per session and per API key", async () => {
      const a = await t.session(`idem-scope-a-${backend}`);
      const b = await t.session(`idem-scope-b-${backend}`);
      const ra = await post(a, { content: "same" }, "shared");
      const rb = await post(b, { content: "same" }, "shared");
      assert.equal(rb.status, 201);
      assert.notEqual(rb.body.message_id, ra.body.message_id);
      const { key } = await t.app.store.apiKeys.create("second", ["sessions:write"]);
      const other = await post(a, { content: "same" }, "shared", key);
      assert.equal(other.status, 201);
      assert.notEqual(other.body.message_id, ra.body.message_id);
      assert.equal((await userMessages(a)).length, 2);
    });

    test("20 concurrent identical requests create one message and one task", async () => {
      const sid = await t.session(`idem-race-${backend}`);
      const body = { content: "once", run_agent: true, notify: false };
      const rs = await Promise.all(Array.from({ length: 20 }, () => post(sid, body, "race-1")));
      for (const r of rs) {
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.deepEqual(r.body, rs[0]!.body);
      }
      assert.equal((await userMessages(sid)).length, 1);
    });

    test("the header is in the route's OpenAPI entry", async () => {
      const doc = (await t.api("GET", "/api/v1/openapi.json")).body;
      const op = doc.paths["/api/v1/sessions/{id}/messages"].post;
      const header = (op.parameters ?? []).find((p: any) => p.in === "header");
      assert.equal(header?.name, "Idempotency-Key");
      assert.ok(op.responses["422"], "422 is documented");
    });
  });
}
