/**
 * `GET /api/v1/deliveries/{id}/attempts` over real HTTP on SQLite and PostgreSQL: a reply
 * whose receiver answers 400 dies on its first attempt, a replay delivers it; each attempt
 * is a row with its status, duration, HTTP status, error, the request's headers (the Basic
 * credentials of the URL masked, never in the answer) and a capped excerpt of the response
 * body. Unknown deliveries are 404; the route needs webhooks:read.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RESPONSE_EXCERPT_CHARS } from "../src/outbox/attempt-exchanges.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { until } from "./support/wait.ts";

const PASSWORD = "hunter2-attempt-secret";

for (const backend of ALL_BACKENDS) {
  describe(`delivery attempts on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let capture: CaptureServer;
    before(async () => {
      capture = await startCaptureServer();
      t = await startTestApp({
        backend,
        tuning: { pollMs: 50, deliveryScheduleMs: [20, 20] },
      });
    });
    after(async () => {
      await t?.close();
      await capture?.close();
    });

    test("a dead attempt and a replayed one: each recorded, secrets masked, body capped", async () => {
      const long = `bad hook: ${"x".repeat(RESPONSE_EXCERPT_CHARS + 500)}`;
      let answer = { status: 400, body: long };
      capture.setResponder(() => answer);
      t.llm.reset();
      t.llm.enqueue({ text: "the reply" });
      const sid = await t.session(`attempts-${backend}`);
      const hook = new URL(`${capture.url}/reply`);
      hook.username = "bot";
      hook.password = PASSWORD;
      const posted = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "hi",
        run_agent: true,
        dispatch_config: { type: "webhook", url: hook.href },
      });
      const taskId = posted.body.task_id as string;
      await t.waitForTask(taskId);
      const dead = await until(async () => {
        const r = await t.api("GET", `/api/v1/deliveries?task_id=${taskId}&status=dead`);
        return r.body[0];
      }, "the reply's delivery dead");
      assert.equal(capture.requests.length, 1, "a 400 is not retried");
      assert.match(capture.requests[0]!.headers.authorization as string, /^Basic /);

      answer = { status: 200, body: "thanks" };
      const replay = await t.api("POST", `/api/v1/deliveries/${dead.id}/replay`);
      assert.equal(replay.status, 200, JSON.stringify(replay.body));
      const attempts = await until(async () => {
        const r = await t.api("GET", `/api/v1/deliveries/${dead.id}/attempts`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.length === 2 && r.body;
      }, "two attempts recorded");

      const [first, second] = attempts;
      assert.equal(first.attempt, 1);
      assert.equal(first.status, "dead");
      assert.equal(first.http_status, 400);
      assert.match(first.error, /400/);
      assert.equal(typeof first.duration_ms, "number");
      assert.ok(first.duration_ms >= 0);
      assert.ok(Date.parse(first.started_at) <= Date.parse(second.started_at));
      assert.equal(first.requests, 1);
      assert.equal(first.request.method, "POST");
      assert.equal(first.request.url, new URL(capture.url).origin, "URL cut to the host");
      assert.equal(first.request.headers.authorization, "****", "credentials masked");
      assert.equal(first.request.headers["webhook-id"], dead.id);
      assert.equal(first.request.headers["content-type"], "application/json");
      assert.equal(first.response.body_excerpt, long.slice(0, RESPONSE_EXCERPT_CHARS));
      assert.equal(first.response.truncated, true);

      assert.equal(second.status, "delivered");
      assert.equal(second.http_status, 200);
      assert.equal(second.error, null);
      assert.equal(second.response.body_excerpt, "thanks");
      assert.equal(second.response.truncated, false);

      const text = JSON.stringify(attempts);
      assert.ok(!text.includes(PASSWORD), "the password is nowhere");
      assert.ok(
        !text.includes(Buffer.from(`bot:${PASSWORD}`).toString("base64")),
        "nor its Basic form",
      );
    });

    test("404 for an unknown delivery; webhooks:read needed", async () => {
      const missing = await t.api("GET", "/api/v1/deliveries/no-such-delivery/attempts");
      assert.equal(missing.status, 404);
      const [d] = (await t.api("GET", "/api/v1/deliveries")).body;
      const k = await t.api("POST", "/api/v1/admin/keys", {
        name: `attempts-tasks-only-${backend}`,
        scopes: ["tasks:read"],
      });
      const refused = await t.api("GET", `/api/v1/deliveries/${d.id}/attempts`, undefined, {
        key: k.body.key,
      });
      assert.equal(refused.status, 403);
    });
  });
}
