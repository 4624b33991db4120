/**
 * `GET /api/v1/tasks/{id}/timeline` over real HTTP on SQLite and PostgreSQL: a turn whose
 * tool call waits for approval and whose reply goes to a webhook shows, in order, created →
 * started → approval requested → approval decided → tool call → finished → delivery queued →
 * delivered, with its token totals; a plain task has only its own steps; unknown ids are
 * 404; the route needs tasks:read.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { until } from "./support/wait.ts";

for (const backend of ALL_BACKENDS) {
  describe(`task timeline on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let capture: CaptureServer;
    before(async () => {
      capture = await startCaptureServer();
      t = await startTestApp({ backend });
      t.app.tools.register({
        name: "deploy",
        description: "Deploys a service",
        parameters: { type: "object", properties: { service: { type: "string" } } },
        execute: async () => "deployed",
      });
      const r = await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["deploy"],
        approval: { default: "never", tools: { deploy: "always" } },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    });
    after(async () => {
      await t?.close();
      await capture?.close();
    });

    test("an approved tool call and a webhook reply: every step, in order, with tokens", async () => {
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "deploy", args: { service: "api" } }] },
        { text: "Done." },
      );
      const sid = await t.session(`timeline-${backend}`);
      const posted = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "deploy the api",
        run_agent: true,
        dispatch_config: { type: "webhook", url: `${capture.url}/reply` },
      });
      const taskId = posted.body.task_id as string;
      await t.waitForTask(taskId, ["waiting_approval"]);
      const waiting = (await t.api("GET", `/api/v1/tasks/${taskId}/timeline`)).body;
      assert.deepEqual(
        waiting.events.map((e: any) => e.kind),
        ["created", "started", "model_call", "approval_requested"],
      );
      const [a] = (await t.api("GET", `/api/v1/approvals?task_id=${taskId}`)).body;
      assert.equal(waiting.events[3].approval_id, a.id);
      assert.equal(waiting.events[3].tool, "deploy");

      await t.api("POST", `/api/v1/approvals/${a.id}`, { decision: "approve", reason: "ok" });
      await t.waitForTask(taskId);
      const tl = await until(async () => {
        const r = await t.api("GET", `/api/v1/tasks/${taskId}/timeline`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.events.some((e: any) => e.kind === "delivered") && r.body;
      }, "the reply delivered");
      assert.equal(tl.task_id, taskId);
      assert.equal(tl.status, "complete");
      assert.deepEqual(
        tl.events.map((e: any) => e.kind),
        [
          "created",
          "model_call",
          "approval_requested",
          "approval_decided",
          // The approval parked the task and the decision put it back: `started` is the
          // latest claim (the first one was shown above, before the approval).
          "started",
          "tool_call",
          "model_call",
          "finished",
          "delivery_queued",
          "delivered",
        ],
        JSON.stringify(tl.events),
      );
      const times = tl.events.map((e: any) => Date.parse(e.at));
      assert.deepEqual(
        times,
        [...times].sort((x, y) => x - y),
        "oldest first",
      );
      const byKind = Object.fromEntries(tl.events.map((e: any) => [e.kind, e]));
      assert.equal(byKind.approval_decided.status, "approved");
      assert.equal(byKind.approval_decided.decided_by, "SWITCHYARD_API_KEY");
      assert.equal(byKind.approval_decided.reason, "ok");
      // One model call per step: the one that asked for the tool, and the answer after it.
      const models = tl.events.filter((e: any) => e.kind === "model_call");
      assert.deepEqual(
        models.map((m: any) => m.finish_reason),
        ["tool-calls", "stop"],
      );
      for (const m of models) {
        assert.equal(typeof m.model, "string");
        assert.ok(m.model.length > 0);
        assert.equal(typeof m.duration_ms, "number");
        assert.ok(m.input_tokens > 0, JSON.stringify(m));
      }
      assert.equal(byKind.tool_call.tool, "deploy");
      assert.equal(byKind.tool_call.status, "ok");
      assert.equal(typeof byKind.tool_call.duration_ms, "number");
      assert.equal(byKind.finished.status, "complete");
      assert.equal(byKind.delivery_queued.target_type, "webhook");
      assert.equal(byKind.delivered.delivery_id, byKind.delivery_queued.delivery_id);
      assert.equal(byKind.started.attempts, 2, "claimed twice: before and after the approval");
      assert.equal(tl.attempts, 2);
      assert.ok(tl.tokens && tl.tokens.total > 0, `tokens reported: ${JSON.stringify(tl.tokens)}`);
      assert.equal(capture.requests.filter((r) => r.path === "/reply").length, 1);
    });

    test("a task without tools or dispatch: created, started, finished; 404 and scopes", async () => {
      t.llm.reset();
      t.llm.enqueue({ text: "hi" });
      const sid = await t.session(`timeline-plain-${backend}`);
      const posted = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "hello",
        run_agent: true,
      });
      const taskId = posted.body.task_id as string;
      await t.waitForTask(taskId);
      const tl = (await t.api("GET", `/api/v1/tasks/${taskId}/timeline`)).body;
      assert.deepEqual(
        tl.events.map((e: any) => e.kind),
        ["created", "started", "model_call", "finished"],
      );
      assert.equal(tl.events[3].status, "complete");
      assert.equal(tl.events[3].error, null);

      const missing = await t.api("GET", "/api/v1/tasks/no-such-task/timeline");
      assert.equal(missing.status, 404);
      assert.equal(missing.body.detail, "Task not found");

      const k = await t.api("POST", "/api/v1/admin/keys", {
        name: `timeline-sessions-only-${backend}`,
        scopes: ["sessions:read"],
      });
      const refused = await t.api("GET", `/api/v1/tasks/${taskId}/timeline`, undefined, {
        key: k.body.key,
      });
      assert.equal(refused.status, 403);
      const k2 = await t.api("POST", "/api/v1/admin/keys", {
        name: `timeline-tasks-${backend}`,
        scopes: ["tasks:read"],
      });
      const allowed = await t.api("GET", `/api/v1/tasks/${taskId}/timeline`, undefined, {
        key: k2.body.key,
      });
      assert.equal(allowed.status, 200);
    });
  });
}
