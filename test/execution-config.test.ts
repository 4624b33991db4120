/**
 * Per-run context over real HTTP: each `execution_config` field (system_preamble, skills,
 * tools, model_override) is seen by the fake LLM in the request of its run and is gone from
 * the next run; `@skill:<id>` tags merge with the bot's and the run's skills without
 * duplicates; unknown skills and tools are reported on the task and the run goes on; an
 * integration's `ctx.injectMessage` carries execution_config the same way. The bot's stored
 * configuration never changes. Runs on SQLite and, when configured, PostgreSQL.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";
import type { FakeLlmRequest } from "./support/fake-llm.ts";

const DEPLOY = "integrations/ops/deploy";
const STYLE = "integrations/ops/style";

const ROUTER = `
export default async function router(app, ctx) {
  app.post("/go", { config: { auth: "self" } }, async (req) => {
    const { sessionId } = await ctx.getOrCreateSession("ops:" + req.body.client_id);
    const { taskId } = await ctx.injectMessage(sessionId, req.body.text, {
      runAgent: true,
      executionConfig: req.body.execution_config,
    });
    return { task_id: taskId };
  });
}
`;

/** The system text of a request to the model (all system messages, joined). */
function systemText(req: FakeLlmRequest): string {
  return req.messages
    .filter((m: any) => m.role === "system")
    .map((m: any) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)))
    .join("\n");
}

const toolNames = (req: FakeLlmRequest) => req.tools.map((x: any) => x.function?.name).sort();
const count = (text: string, part: string) => text.split(part).length - 1;

for (const backend of ALL_BACKENDS) {
  describe(`execution_config and skills in a run on ${backend}`, runsOn(backend), () => {
    const dir = tempDir("switchyard-exec-");
    let t: TestApp;
    let sid: string;

    before(async () => {
      const ops = join(dir.path, "ops");
      mkdirSync(join(ops, "skills"), { recursive: true });
      writeFileSync(
        join(ops, "skills", "deploy.md"),
        "---\nname: Deploying\ndescription: How to deploy\n---\nRun the DEPLOY-CHECKLIST first.\n",
      );
      writeFileSync(
        join(ops, "skills", "style.md"),
        "---\nname: Style guide\ndescription: How to write\n---\nAnswer in STYLE-TERSE form.\n",
      );
      writeFileSync(join(ops, "router.ts"), ROUTER);
      t = await startTestApp({ backend, env: { INTEGRATION_DIRS: dir.path } });
      t.app.tools.register({
        name: "run_only_tool",
        description: "Only for runs that ask for it",
        parameters: { type: "object", properties: {} },
        execute: () => "ok",
      });
      const bot = await t.api("POST", "/api/v1/admin/bots", {
        id: "planner",
        system_prompt: "You plan releases.",
        model: "openai-compatible:fake-model",
        skills: [STYLE],
      });
      assert.equal(bot.status, 201, JSON.stringify(bot.body));
      sid = await t.session(`planner-${backend}`, { bot_id: "planner" });
    });
    after(async () => {
      await t.close();
      dir.remove();
    });

    /** Sends a message that runs the agent; waits for the task; returns it and the LLM request. */
    const run = async (content: string, extra: Record<string, unknown> = {}) => {
      t.llm.reset();
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content,
        run_agent: true,
        ...extra,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const task = await t.waitForTask(r.body.task_id);
      assert.equal(task.status, "complete", JSON.stringify(task));
      assert.equal(t.llm.requests.length, 1);
      return { task, req: t.llm.requests[0]! };
    };

    test("each execution_config field reaches the model for that run only", async () => {
      const exec = {
        system_preamble: "PREAMBLE-FOR-THIS-EVENT",
        skills: [DEPLOY],
        tools: ["run_only_tool"],
        model_override: "openai-compatible:override-model",
      };
      const first = await run("Release 1.2 please", { execution_config: exec });
      const sys1 = systemText(first.req);
      assert.match(sys1, /You plan releases\./);
      assert.match(sys1, /PREAMBLE-FOR-THIS-EVENT/);
      assert.ok(sys1.includes("## Skill: Deploying\nRun the DEPLOY-CHECKLIST first."), sys1);
      assert.ok(sys1.includes("## Skill: Style guide\nAnswer in STYLE-TERSE form."), sys1);
      assert.deepEqual(toolNames(first.req), ["run_only_tool"]);
      assert.equal(first.req.model, "override-model");
      assert.deepEqual(first.task.execution_config, exec, "stored on the task and shown");
      assert.deepEqual(first.task.warnings, []);

      const second = await run("And 1.3?");
      const sys2 = systemText(second.req);
      assert.match(sys2, /You plan releases\./);
      assert.doesNotMatch(sys2, /PREAMBLE-FOR-THIS-EVENT/);
      assert.doesNotMatch(sys2, /DEPLOY-CHECKLIST/);
      assert.match(sys2, /STYLE-TERSE/, "the bot's own skill stays");
      assert.deepEqual(toolNames(second.req), []);
      assert.equal(second.req.model, "fake-model");
      assert.equal(second.task.execution_config, null);

      const bot = await t.api("GET", "/api/v1/admin/bots/planner");
      assert.equal(bot.body.system_prompt, "You plan releases.");
      assert.equal(bot.body.model, "openai-compatible:fake-model");
      assert.deepEqual(bot.body.tools, []);
      assert.deepEqual(bot.body.skills, [STYLE]);
    });

    test("@skill: tags merge with the bot's and the run's skills, each once", async () => {
      const { req, task } = await run(`Ship it, see @skill:${DEPLOY} and @skill:${STYLE}.`, {
        execution_config: { skills: [DEPLOY] },
      });
      const sys = systemText(req);
      assert.equal(count(sys, "## Skill: Deploying"), 1, sys);
      assert.equal(count(sys, "## Skill: Style guide"), 1, sys);
      assert.ok(sys.indexOf("Style guide") < sys.indexOf("Deploying"), "bot's skills first");
      assert.deepEqual(task.warnings, []);

      const tagOnly = await run(`Only the tag: @skill:${DEPLOY}`);
      assert.equal(count(systemText(tagOnly.req), "## Skill: Deploying"), 1);

      const next = await run("No tags now");
      assert.doesNotMatch(systemText(next.req), /Deploying/, "a tag is for its own run");
    });

    test("unknown skills and tools are reported on the task; the run goes on", async () => {
      const { req, task } = await run("Hello @skill:integrations/ghost/boo", {
        execution_config: {
          skills: ["integrations/ops/nope", DEPLOY],
          tools: ["no_such_tool", "run_only_tool"],
        },
      });
      assert.deepEqual(task.warnings, [
        "Unknown skills ignored: integrations/ops/nope, integrations/ghost/boo",
        "Unknown tools ignored: no_such_tool",
      ]);
      assert.match(systemText(req), /DEPLOY-CHECKLIST/, "the known skill still runs");
      assert.deepEqual(toolNames(req), ["run_only_tool"], "the known tool is still offered");

      // Reported even when the run then fails.
      t.llm.reset();
      t.llm.enqueue({ status: 400, body: { error: { message: "bad request" } } });
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "fail please",
        run_agent: true,
        execution_config: { tools: ["no_such_tool"] },
      });
      const failed = await t.waitForTask(r.body.task_id);
      assert.equal(failed.status, "failed");
      assert.deepEqual(failed.warnings, ["Unknown tools ignored: no_such_tool"]);
    });

    test("ctx.injectMessage carries execution_config to the task and the model", async () => {
      t.llm.reset();
      const exec = {
        system_preamble: "FROM-THE-INTEGRATION",
        skills: [DEPLOY],
        tools: ["run_only_tool"],
        model_override: "openai-compatible:integration-model",
      };
      const res = await fetch(`${t.url}/integrations/ops/go`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_id: backend, text: "event arrived", execution_config: exec }),
      });
      assert.equal(res.status, 200);
      const { task_id } = (await res.json()) as { task_id: string };
      const task = await t.waitForTask(task_id);
      assert.equal(task.status, "complete", JSON.stringify(task));
      assert.deepEqual(task.execution_config, exec);
      const req = t.llm.requests[0]!;
      assert.equal(req.model, "integration-model");
      assert.match(systemText(req), /FROM-THE-INTEGRATION/);
      assert.match(systemText(req), /DEPLOY-CHECKLIST/);
      assert.deepEqual(toolNames(req), ["run_only_tool"]);
    });
  });
}
