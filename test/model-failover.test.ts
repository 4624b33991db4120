/**
 * The model fail-over matrix over real HTTP, with the model retries at their default (2,
 * as in production; the fake LLM says `Retry-After: 0`, so no retry waits): an unavailable
 * model (503) is asked 3 times, then the bot's fallback answers; a 400 is final (no retry,
 * no fallback); a 5xx after a tool already ran fails the task without running the tool
 * again; and two 503s then an answer complete on the first model.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import type { FakeReply } from "./support/fake-llm.ts";

const unavailable: FakeReply = {
  status: 503,
  retryAfter: "0",
  body: { error: { message: "overloaded" } },
};

for (const backend of ALL_BACKENDS) {
  describe(`model fail-over with default retries (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    /** How often the side-effect tool ran. */
    let sideEffects = 0;
    before(async () => {
      // llmMaxRetries left unset: the server's default applies (the test app otherwise sets 0).
      t = await startTestApp({ backend, tuning: { llmMaxRetries: undefined } });
      t.app.tools.register({
        name: "charge_card",
        description: "A tool with a side effect",
        parameters: { type: "object", properties: {} },
        execute: () => {
          sideEffects++;
          return { charged: true };
        },
      });
      const bot = await t.api("POST", "/api/v1/admin/bots", {
        id: "failover",
        model: "openai-compatible:primary",
        fallback_models: ["openai-compatible:backup"],
        tools: ["charge_card"],
      });
      assert.equal(bot.status, 201, JSON.stringify(bot.body));
    });
    after(() => t.close());

    /** Runs one task on the fail-over bot with `script` per model; returns the final task. */
    const run = async (name: string, script: Record<string, FakeReply[]>) => {
      t.llm.reset();
      const left = new Map(Object.entries(script).map(([m, r]) => [m, [...r]]));
      t.llm.setResponder((req) => {
        const next = left.get(req.model)?.shift();
        return (
          next ?? { status: 500, body: { error: { message: `unscripted call to ${req.model}` } } }
        );
      });
      const sid = await t.session(`${name}-${backend}`, { bot_id: "failover" });
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: name,
        run_agent: true,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const task = await t.waitForTask(r.body.task_id);
      return { task, models: t.llm.requests.map((q) => q.model) };
    };

    test("503 three times (1 + 2 retries), then the fallback model answers", async () => {
      const { task, models } = await run("unavailable", {
        primary: [unavailable, unavailable, unavailable],
        backup: [{ text: "answered by backup" }],
      });
      assert.equal(task.status, "complete", JSON.stringify(task));
      assert.equal(task.result, "answered by backup");
      assert.deepEqual(models, ["primary", "primary", "primary", "backup"]);
      assert.ok(
        task.warnings.some((w: string) => /fallback model openai-compatible:backup/.test(w)),
      );
    });

    test("the default retry count is 2: two 503s then an answer stay on the first model", async () => {
      const { task, models } = await run("retried", {
        primary: [unavailable, unavailable, { text: "answered by primary" }],
        backup: [{ text: "answered by backup" }],
      });
      assert.equal(task.status, "complete", JSON.stringify(task));
      assert.equal(task.result, "answered by primary");
      assert.deepEqual(models, ["primary", "primary", "primary"]);
    });

    test("a 400 is final: no retry, no fallback", async () => {
      const { task, models } = await run("bad-request", {
        primary: [{ status: 400, body: { error: { message: "bad request" } } }],
        backup: [{ text: "answered by backup" }],
      });
      assert.equal(task.status, "failed");
      assert.match(task.error, /400/);
      assert.deepEqual(models, ["primary"]);
    });

    test("a 5xx after a tool ran fails the task; the tool does not run again", async () => {
      sideEffects = 0;
      const { task, models } = await run("after-tool", {
        primary: [
          { toolCalls: [{ name: "charge_card", args: {} }] },
          unavailable,
          unavailable,
          unavailable,
        ],
        backup: [{ toolCalls: [{ name: "charge_card", args: {} }] }, { text: "charged twice" }],
      });
      assert.equal(task.status, "failed", JSON.stringify(task));
      assert.match(task.error, /503/);
      assert.equal(sideEffects, 1, "the side effect happened once");
      assert.deepEqual(models, ["primary", "primary", "primary", "primary"]);
      const calls = (await t.api("GET", `/api/v1/tasks/${task.id}/tool_calls`)).body;
      assert.equal(calls.length, 1);
    });
  });
}
