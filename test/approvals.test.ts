/**
 * Durable tool approvals (issue 13) over real HTTP: a call that needs approval parks the
 * task (`waiting_approval`) with a row shown by REST; approve → the tool runs once and the
 * turn continues; deny → the model is told (AI SDK `execution-denied`) and goes on; a
 * second decision → 409 showing the first; `execution_config.approval` only tightens the
 * bot's policy; expiry counts as a denial; scopes. SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { until } from "./support/wait.ts";

for (const backend of ALL_BACKENDS) {
  describe(`approvals on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    const runs: unknown[] = [];
    before(async () => {
      t = await startTestApp({ backend });
      t.app.tools.register({
        name: "deploy",
        description: "Deploys a service",
        parameters: {
          type: "object",
          properties: { service: { type: "string" }, api_token: { type: "string" } },
          required: ["service"],
        },
        execute: async (args: unknown) => {
          runs.push(args);
          return { deployed: (args as { service: string }).service };
        },
      });
      t.app.tools.register({
        name: "lookup",
        description: "Looks something up",
        parameters: { type: "object", properties: {} },
        execute: async () => "found",
      });
      const r = await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["deploy", "lookup"],
        approval: { default: "never", tools: { deploy: "always" } },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.approval, { default: "never", tools: { deploy: "always" } });
    });
    after(() => t.close());

    const inject = async (sid: string, content: string, extra: Record<string, unknown> = {}) => {
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content,
        run_agent: true,
        ...extra,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.task_id as string;
    };
    const pendingOf = (taskId: string) =>
      until(async () => {
        const r = await t.api("GET", `/api/v1/approvals?status=pending&task_id=${taskId}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.length ? r.body : undefined;
      }, `a pending approval of ${taskId}`);

    test("approve: the task waits, REST shows the request, the tool runs once, the turn goes on", async () => {
      runs.length = 0;
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "deploy", args: { service: "api", api_token: "s3cr3t" } }] },
        { text: "Deployed api." },
      );
      const sid = await t.session(`approve-${backend}`);
      const taskId = await inject(sid, "deploy the api");
      const waiting = await t.waitForTask(taskId, ["waiting_approval"]);
      assert.equal(waiting.status, "waiting_approval");
      const [a] = await pendingOf(taskId);
      assert.equal(a.tool, "deploy");
      assert.equal(a.task_id, taskId);
      assert.equal(a.session_id, sid);
      assert.deepEqual(a.args, { service: "api", api_token: "****" }, "secret args masked");
      assert.equal(a.status, "pending");
      assert.ok(Date.parse(a.expires_at) - Date.parse(a.requested_at) >= 86_399_000);
      assert.equal(runs.length, 0, "nothing ran before the decision");
      assert.equal(t.llm.requests.length, 1);

      const one = await t.api("GET", `/api/v1/approvals/${a.id}`);
      assert.equal(one.body.id, a.id);

      const d = await t.api("POST", `/api/v1/approvals/${a.id}`, { decision: "approve" });
      assert.equal(d.status, 200, JSON.stringify(d.body));
      assert.equal(d.body.status, "approved");
      assert.equal(d.body.decided_by, "SWITCHYARD_API_KEY");

      const done = await t.waitForTask(taskId);
      assert.equal(done.status, "complete", JSON.stringify(done));
      assert.equal(done.result, "Deployed api.");
      assert.deepEqual(runs, [{ service: "api", api_token: "s3cr3t" }], "ran once, as asked");
      // A finished task keeps no parked turn.
      assert.equal(await t.app.store.approvals.checkpoint(taskId), undefined);
      // The model saw the tool's result in the resumed turn.
      const second = t.llm.requests[1]!;
      const toolMsg = second.messages.find((m: any) => m.role === "tool");
      assert.deepEqual(JSON.parse(toolMsg.content), { deployed: "api" });
      assert.equal(second.messages.filter((m: any) => m.role === "user").length, 1);

      const again = await t.api("POST", `/api/v1/approvals/${a.id}`, {
        decision: "deny",
        reason: "too late",
      });
      assert.equal(again.status, 409);
      assert.equal(again.body.approval.status, "approved");
      assert.equal(again.body.approval.decided_by, "SWITCHYARD_API_KEY");
      assert.equal(runs.length, 1);
    });

    test("deny: the tool does not run and the model is told why", async () => {
      runs.length = 0;
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "deploy", args: { service: "db" } }] },
        { text: "Understood, not deploying." },
      );
      const sid = await t.session(`deny-${backend}`);
      const taskId = await inject(sid, "deploy the db");
      const [a] = await pendingOf(taskId);
      const d = await t.api("POST", `/api/v1/approvals/${a.id}`, {
        decision: "deny",
        reason: "change freeze",
      });
      assert.equal(d.status, 200);
      assert.equal(d.body.status, "denied");
      assert.equal(d.body.reason, "change freeze");
      const done = await t.waitForTask(taskId);
      assert.equal(done.status, "complete");
      assert.equal(done.result, "Understood, not deploying.");
      assert.equal(runs.length, 0);
      const toolMsg = t.llm.requests[1]!.messages.find((m: any) => m.role === "tool");
      assert.match(JSON.stringify(toolMsg.content), /denied.*change freeze/);
    });

    test("tools without approval run at once; later messages of the session wait for the decision", async () => {
      runs.length = 0;
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "lookup", args: {} }] },
        { toolCalls: [{ name: "deploy", args: { service: "web" } }] },
        { text: "done web" },
        { text: "second answer" },
      );
      const sid = await t.session(`order-${backend}`);
      const first = await inject(sid, "look, then deploy");
      const [a] = await pendingOf(first);
      const second = await inject(sid, "and then?");
      // The second task stays pending while the first waits (per-session order).
      const s2 = (await t.api("GET", `/api/v1/tasks/${second}`)).body;
      assert.equal(s2.status, "pending");
      assert.equal(t.llm.requests.length, 2);
      await t.api("POST", `/api/v1/approvals/${a.id}`, { decision: "approve" });
      assert.equal((await t.waitForTask(first)).result, "done web");
      assert.equal((await t.waitForTask(second)).result, "second answer");
      assert.equal(runs.length, 1);
    });

    test("two calls in one step: the turn resumes only once both are decided", async () => {
      runs.length = 0;
      t.llm.reset();
      t.llm.enqueue(
        {
          toolCalls: [
            { name: "deploy", args: { service: "one" } },
            { name: "deploy", args: { service: "two" } },
          ],
        },
        { text: "one deployed, two refused" },
      );
      const sid = await t.session(`two-calls-${backend}`);
      const taskId = await inject(sid, "deploy both");
      const list = await until(async () => {
        const r = await t.api("GET", `/api/v1/approvals?status=pending&task_id=${taskId}`);
        return r.body.length === 2 ? r.body : undefined;
      }, "two pending approvals");
      const by = (svc: string) => list.find((x: any) => x.args.service === svc);
      const first = await t.api("POST", `/api/v1/approvals/${by("one").id}`, {
        decision: "approve",
      });
      assert.equal(first.status, 200);
      const mid = (await t.api("GET", `/api/v1/tasks/${taskId}`)).body;
      assert.equal(mid.status, "waiting_approval", "still waits for the second decision");
      await t.api("POST", `/api/v1/approvals/${by("two").id}`, { decision: "deny" });
      assert.equal((await t.waitForTask(taskId)).result, "one deployed, two refused");
      assert.deepEqual(runs, [{ service: "one" }]);
      const tools = t.llm.requests[1]!.messages.filter((m: any) => m.role === "tool");
      assert.equal(tools.length, 2);
    });

    test("execution_config.approval tightens the policy for one run, and can never loosen it", async () => {
      t.llm.reset();
      t.llm.enqueue({ toolCalls: [{ name: "lookup", args: {} }] }, { text: "looked" });
      const sid = await t.session(`tighten-${backend}`);
      const taskId = await inject(sid, "look it up", {
        execution_config: { approval: { tools: { lookup: "always" } } },
      });
      const [a] = await pendingOf(taskId);
      assert.equal(a.tool, "lookup");
      await t.api("POST", `/api/v1/approvals/${a.id}`, { decision: "approve" });
      assert.equal((await t.waitForTask(taskId)).result, "looked");

      // Without the tightening, lookup runs at once.
      t.llm.enqueue({ toolCalls: [{ name: "lookup", args: {} }] }, { text: "looked again" });
      const free = await inject(sid, "look again");
      assert.equal((await t.waitForTask(free)).result, "looked again");

      const loosen = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "deploy without asking",
        run_agent: true,
        execution_config: { approval: { tools: { deploy: "never" } } },
      });
      assert.equal(loosen.status, 400);
      assert.match(JSON.stringify(loosen.body), /execution_config\.approval.*tighten/);
    });

    test("a bad bot approval policy is refused with a clear 400", async () => {
      const r = await t.api("PUT", "/api/v1/admin/bots/default", {
        approval: { default: "sometimes" },
      });
      assert.equal(r.status, 400);
      assert.match(r.body.detail, /approval\.default.*"never" or "always"/);
      const r2 = await t.api("PUT", "/api/v1/admin/bots/default", {
        approval: { default: "never", tools: { deploy: "ask" }, extra: 1 },
      });
      assert.equal(r2.status, 400);
    });

    test("scopes: approvals:read lists but cannot decide; other keys cannot list", async () => {
      const mk = async (name: string, scopes: string[]) => {
        const r = await t.api("POST", "/api/v1/admin/keys", { name: `${name}-${backend}`, scopes });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return r.body.key as string;
      };
      const reader = await mk("approvals-reader", ["approvals:read"]);
      const tasks = await mk("tasks-only", ["tasks:write"]);
      const writer = await mk("approver", ["approvals:write"]);
      t.llm.reset();
      t.llm.enqueue({ toolCalls: [{ name: "deploy", args: { service: "x" } }] }, { text: "ok" });
      const sid = await t.session(`scopes-${backend}`);
      const taskId = await inject(sid, "deploy x");
      const [a] = await pendingOf(taskId);
      assert.equal(
        (await t.api("GET", "/api/v1/approvals", undefined, { key: tasks })).status,
        403,
      );
      assert.equal(
        (await t.api("GET", "/api/v1/approvals", undefined, { key: reader })).status,
        200,
      );
      const no = await t.api(
        "POST",
        `/api/v1/approvals/${a.id}`,
        { decision: "approve" },
        {
          key: reader,
        },
      );
      assert.equal(no.status, 403);
      const yes = await t.api(
        "POST",
        `/api/v1/approvals/${a.id}`,
        { decision: "approve" },
        {
          key: writer,
        },
      );
      assert.equal(yes.status, 200);
      assert.equal(yes.body.decided_by, `approver-${backend}`);
      assert.equal((await t.waitForTask(taskId)).status, "complete");
    });

    test("MCP: approvals_list and approval_decide, with their REST scopes", async () => {
      const mk = async (name: string, scopes: string[]) =>
        (await t.api("POST", "/api/v1/admin/keys", { name: `${name}-${backend}`, scopes })).body
          .key as string;
      const client = async (key: string) => {
        const c = new Client({ name: "approvals-test", version: "1.0.0" });
        await c.connect(
          new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${key}` } },
          }),
        );
        return c;
      };
      const reader = await client(await mk("mcp-reader", ["approvals:read"]));
      const decider = await client(await mk("mcp-decider", ["approvals:write"]));
      after(() => Promise.all([reader.close(), decider.close()]));
      runs.length = 0;
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "deploy", args: { service: "m" } }] },
        { text: "mcp ok" },
      );
      const sid = await t.session(`mcp-${backend}`);
      const taskId = await inject(sid, "deploy m");
      await pendingOf(taskId);
      const listed = (await reader.callTool({
        name: "approvals_list",
        arguments: { status: "pending", task_id: taskId },
      })) as any;
      assert.notEqual(listed.isError, true, JSON.stringify(listed.content));
      const [a] = listed.structuredContent.items;
      assert.equal(a.tool, "deploy");
      const refused = (await reader.callTool({
        name: "approval_decide",
        arguments: { approval_id: a.id, decision: "approve" },
      })) as any;
      assert.equal(refused.isError, true);
      assert.match(refused.content[0].text, /Missing required scope: approvals:write/);
      const ok = (await decider.callTool({
        name: "approval_decide",
        arguments: { approval_id: a.id, decision: "approve" },
      })) as any;
      assert.notEqual(ok.isError, true, JSON.stringify(ok.content));
      assert.equal(ok.structuredContent.decided_by, `mcp-decider-${backend}`);
      const second = (await decider.callTool({
        name: "approval_decide",
        arguments: { approval_id: a.id, decision: "deny" },
      })) as any;
      assert.equal(second.isError, true);
      assert.match(second.content[0].text, /already decided: approved by mcp-decider/);
      assert.equal((await t.waitForTask(taskId)).result, "mcp ok");
      assert.equal(runs.length, 1);
    });

    test("cancelling a waiting task expires its request at once; a late approval is refused and nothing runs", async () => {
      runs.length = 0;
      t.llm.reset();
      t.llm.enqueue({ toolCalls: [{ name: "deploy", args: { service: "gone" } }] });
      const sid = await t.session(`cancel-${backend}`);
      const taskId = await inject(sid, "deploy gone");
      const [a] = await pendingOf(taskId);
      const c = await t.api("POST", `/api/v1/tasks/${taskId}/cancel`);
      assert.equal(c.status, 200, JSON.stringify(c.body));
      assert.equal(c.body.status, "cancelled");
      // Settled by the cancel itself: not left pending until the TTL.
      const settled = (await t.api("GET", `/api/v1/approvals/${a.id}`)).body;
      assert.equal(settled.status, "expired");
      assert.match(settled.reason, /no longer waiting \(cancelled\)/);
      assert.equal(settled.decided_by, "cancel:SWITCHYARD_API_KEY");
      const still = await t.api("GET", `/api/v1/approvals?status=pending&task_id=${taskId}`);
      assert.deepEqual(still.body, []);
      const d = await t.api("POST", `/api/v1/approvals/${a.id}`, { decision: "approve" });
      assert.equal(d.status, 409);
      assert.match(d.body.detail, /already decided: expired by cancel:SWITCHYARD_API_KEY/);
      assert.equal((await t.api("GET", `/api/v1/tasks/${taskId}`)).body.status, "cancelled");
      // The session is free again for its next message.
      t.llm.enqueue({ text: "next one" });
      const next = await inject(sid, "something else");
      assert.equal((await t.waitForTask(next)).result, "next one");
      assert.equal(runs.length, 0);
    });

    test("unknown approval → 404; a bad decision → 400", async () => {
      const r = await t.api("POST", "/api/v1/approvals/nope", { decision: "approve" });
      assert.equal(r.status, 404);
      const r2 = await t.api("POST", "/api/v1/approvals/nope", { decision: "yes" });
      assert.equal(r2.status, 400);
    });
  });

  describe(`approval expiry on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({
        backend,
        env: { SWITCHYARD_APPROVAL_TTL_SECONDS: "1" },
        tuning: { approvalSweepMs: 100 },
      });
    });
    after(() => t.close());

    test("an undecided request expires after the TTL and counts as a denial", async () => {
      let ran = 0;
      t.app.tools.register({
        name: "rm_rf",
        description: "Deletes everything",
        parameters: { type: "object", properties: {} },
        execute: async () => {
          ran++;
          return "gone";
        },
      });
      await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["rm_rf"],
        approval: { default: "always" },
      });
      t.llm.enqueue({ toolCalls: [{ name: "rm_rf", args: {} }] }, { text: "I did not do it." });
      const sid = await t.session(`expiry-${backend}`);
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "wipe",
        run_agent: true,
      });
      const taskId = r.body.task_id;
      const done = await t.waitForTask(taskId);
      assert.equal(done.result, "I did not do it.");
      assert.equal(ran, 0);
      const [a] = (await t.api("GET", `/api/v1/approvals?task_id=${taskId}`)).body;
      assert.equal(a.status, "expired");
      assert.equal(a.decided_by, "expiry");
      const toolMsg = t.llm.requests[1]!.messages.find((m: any) => m.role === "tool");
      assert.match(JSON.stringify(toolMsg.content), /expired/);
      const late = await t.api("POST", `/api/v1/approvals/${a.id}`, { decision: "approve" });
      assert.equal(late.status, 409);
      assert.equal(late.body.approval.status, "expired");
    });
  });
}
