/**
 * Delegation (issue 14) over real HTTP with the fake LLM: a bot given the core `delegate`
 * tool hands a prompt to another bot; the child runs in its own session with a
 * callback_config (not a dispatch_config); its result is posted into the parent session
 * through the parent's dispatcher postMessage (attributed to the child bot) and, with
 * notify_parent, the parent gets a follow-up turn on it. Fan-out, depth and cycles are
 * refused with clear tool errors. SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import type { FakeLlmRequest } from "./support/fake-llm.ts";
import { lastUserText } from "./support/fake-llm-script.ts";

const systemOf = (r: FakeLlmRequest) =>
  String(r.messages.find((m: any) => m.role === "system")?.content ?? "");
const hasToolResults = (r: FakeLlmRequest) => r.messages.some((m: any) => m.role === "tool");

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, what: string) {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const backend of ALL_BACKENDS) {
  describe(`delegation on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let hook: CaptureServer;
    before(async () => {
      hook = await startCaptureServer();
      t = await startTestApp({
        backend,
        env: { SWITCHYARD_DELEGATION_MAX_CHILDREN: "2", SWITCHYARD_DELEGATION_MAX_DEPTH: "1" },
        tuning: { pollMs: 50, deliveryScheduleMs: [50, 50, 50] },
      });
      for (const [id, prompt, extra] of [
        [
          "helper",
          "You are the helper.",
          {
            display_name: "Helper Bot",
            avatar_url: "https://img.example/h.png",
            tools: ["delegate"],
          },
        ],
        ["third", "You are the third.", {}],
      ] as const) {
        const r = await t.api("POST", "/api/v1/admin/bots", {
          id,
          system_prompt: prompt,
          ...extra,
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
    });
    after(async () => {
      await t.close();
      await hook.close();
    });

    const inject = async (sid: string, content: string) => {
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content,
        run_agent: true,
        execution_config: { tools: ["delegate"] },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.task_id as string;
    };
    const tasksOf = async (query: string) =>
      (await t.api("GET", `/api/v1/tasks?${query}`)).body.items as any[];

    test("parent → child → result posted into the parent's channel as the child bot, then the parent's follow-up turn", async () => {
      hook.requests.length = 0;
      t.llm.reset();
      t.llm.setResponder((r) => {
        if (systemOf(r).includes("helper")) return { text: "X is 42" };
        if (lastUserText(r.messages).startsWith("[Task ")) return { text: "helper says 42" };
        if (!hasToolResults(r)) {
          return {
            toolCalls: [{ name: "delegate", args: { bot_id: "helper", prompt: "find X" } }],
          };
        }
        return { text: "asked helper" };
      });
      const sid = await t.session(`parent-${backend}`, {
        dispatch_config: { type: "webhook", url: `${hook.url}/parent` },
      });
      const parentId = await inject(sid, "please ask the helper");
      const parent = await t.waitForTask(parentId);
      assert.equal(parent.result, "asked helper");
      const call = (await t.api("GET", `/api/v1/tasks/${parentId}/tool_calls`)).body[0];
      assert.equal(call.name, "delegate");
      assert.equal(call.status, "ok");
      const childId = JSON.parse(call.result).task_id as string;

      const child = await t.waitForTask(childId);
      assert.equal(child.status, "complete");
      assert.equal(child.bot_id, "helper");
      assert.equal(child.dispatch_type, "none", "the parent link is not a dispatch config");
      assert.deepEqual(child.callback_config, {
        parent_session_id: sid,
        parent_task_id: parentId,
        notify_parent: true,
        depth: 1,
        chain: ["default"],
      });
      const childSession = (await t.api("GET", `/api/v1/sessions/${child.session_id}`)).body;
      assert.equal(childSession.client_id, `delegate:${sid}`);

      // The follow-up turn of the parent runs on the posted result.
      const followUp = await until(async () => {
        const all = await tasksOf(`session_id=${sid}`);
        const f = all.find((x) => x.id !== parentId);
        return f?.status === "complete" ? f : undefined;
      }, "the follow-up turn");
      assert.match(
        followUp.prompt,
        new RegExp(
          `^\\[Task ${childId} delegated to Helper Bot \\(helper\\) finished\\]\\n\\nX is 42$`,
        ),
      );
      assert.equal(followUp.result, "helper says 42");
      assert.equal(followUp.callback_config.follow_up_of, childId);

      const row = await until(async () => {
        const rows = (await t.api("GET", `/api/v1/deliveries?task_id=${childId}`)).body;
        const d = (rows.items ?? rows).find((x: any) => x.target_type === "delegation_result");
        return d?.status === "delivered" ? d : undefined;
      }, "the delegation row to be delivered");
      await until(
        () => hook.requests.find((r) => r.json?.task_id === followUp.id),
        "follow-up reply",
      );
      const posts = hook.requests.filter((r) => typeof r.json?.message === "string");
      assert.equal(posts.length, 1, "posted once");
      assert.deepEqual(posts[0]!.json, {
        message: "X is 42",
        username: "Helper Bot",
        icon_url: "https://img.example/h.png",
        bot_id: "helper",
        task_id: childId,
      });
      assert.equal(posts[0]!.headers["webhook-id"], row.id, "the post carries the delivery id");
      const order = hook.requests.map((r) => r.json?.task_id ?? r.json?.message);
      assert.ok(
        order.indexOf("X is 42") < order.indexOf(followUp.id),
        "the result before the follow-up's reply",
      );
      const messages = (await t.api("GET", `/api/v1/sessions/${sid}/messages`)).body;
      const stored = (messages.items ?? messages).filter(
        (m: any) => m.metadata?.source === "delegation",
      );
      assert.equal(stored.length, 1);

      // The row sent again (as after a crash between the post and its recorded outcome):
      // the same delivery id on the post, and no second message or follow-up turn.
      const followUpCalls = () =>
        t.llm.requests.filter((r) => lastUserText(r.messages).startsWith("[Task ")).length;
      assert.equal(followUpCalls(), 1);
      const replay = await t.api("POST", `/api/v1/deliveries/${row.id}/replay`);
      assert.equal(replay.status, 200, JSON.stringify(replay.body));
      const posted = () => hook.requests.filter((r) => typeof r.json?.message === "string");
      await until(() => (posted().length === 2 ? true : undefined), "the replayed post");
      await until(async () => {
        const d = (await t.api("GET", `/api/v1/deliveries/${row.id}`)).body;
        return d.status === "delivered" ? d : undefined;
      }, "the replayed row to be delivered");
      const again = posted();
      assert.equal(again.length, 2);
      assert.equal(again[1]!.headers["webhook-id"], row.id);
      const after = (await t.api("GET", `/api/v1/sessions/${sid}/messages`)).body;
      assert.equal(
        (after.items ?? after).filter((m: any) => m.metadata?.source === "delegation").length,
        1,
        "stored once",
      );
      assert.equal((await tasksOf(`session_id=${sid}`)).length, 2, "one follow-up task");
      assert.equal(followUpCalls(), 1, "one follow-up turn");
      t.llm.setResponder(null);
    });

    test("a parent message that named its own dispatch_config: the result and the follow-up go there", async () => {
      hook.requests.length = 0;
      t.llm.reset();
      t.llm.setResponder((r) => {
        if (systemOf(r).includes("helper")) return { text: "per-message result" };
        if (lastUserText(r.messages).startsWith("[Task ")) return { text: "per-message follow-up" };
        if (!hasToolResults(r)) {
          return { toolCalls: [{ name: "delegate", args: { bot_id: "helper", prompt: "pm" } }] };
        }
        return { text: "pm asked" };
      });
      const sid = await t.session(`per-message-${backend}`);
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "ask with my own webhook",
        run_agent: true,
        execution_config: { tools: ["delegate"] },
        dispatch_config: { type: "webhook", url: `${hook.url}/mine` },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const followUp = await until(async () => {
        const all = await tasksOf(`session_id=${sid}`);
        const f = all.find((x) => x.id !== r.body.task_id);
        return f?.status === "complete" ? f : undefined;
      }, "the follow-up turn");
      assert.equal(followUp.dispatch_type, "webhook");
      await until(() => hook.requests.find((q) => q.json?.task_id === followUp.id), "its reply");
      const mine = hook.requests.filter((q) => q.path === "/mine").map((q) => q.json);
      assert.ok(
        mine.some((j) => j.message === "per-message result" && j.username === "Helper Bot"),
      );
      assert.ok(mine.some((j) => j.result === "per-message follow-up"));
      t.llm.setResponder(null);
    });

    test("notify_parent: false posts and stores the result without a follow-up turn", async () => {
      t.llm.reset();
      t.llm.setResponder((r) => {
        if (systemOf(r).includes("helper")) return { text: "quiet result" };
        if (!hasToolResults(r)) {
          return {
            toolCalls: [
              { name: "delegate", args: { bot_id: "helper", prompt: "q", notify_parent: false } },
            ],
          };
        }
        return { text: "ok" };
      });
      const sid = await t.session(`quiet-${backend}`);
      const parentId = await inject(sid, "delegate quietly");
      await t.waitForTask(parentId);
      const childId = JSON.parse(
        (await t.api("GET", `/api/v1/tasks/${parentId}/tool_calls`)).body[0].result,
      ).task_id;
      await t.waitForTask(childId);
      const stored = await until(async () => {
        const m = (await t.api("GET", `/api/v1/sessions/${sid}/messages`)).body;
        return (m.items ?? m).find((x: any) => x.metadata?.source === "delegation");
      }, "the stored result");
      assert.match(stored.content, /quiet result$/);
      assert.equal(stored.metadata.delegated_task_id, childId);
      const tasks = await tasksOf(`session_id=${sid}`);
      assert.equal(tasks.length, 1, "no follow-up task");
      t.llm.setResponder(null);
    });

    test("fan-out, unknown bots, wait: true and self-delegation are refused with clear tool errors", async () => {
      t.llm.reset();
      const d = (args: Record<string, unknown>) => ({ name: "delegate", args });
      t.llm.setResponder((r) => {
        if (systemOf(r).includes("helper")) return { text: "child done" };
        if (!hasToolResults(r)) {
          return {
            toolCalls: [
              d({ bot_id: "helper", prompt: "a", notify_parent: false }),
              d({ bot_id: "helper", prompt: "b", notify_parent: false }),
              d({ bot_id: "helper", prompt: "c", notify_parent: false }),
              d({ bot_id: "nobody", prompt: "x" }),
              d({ bot_id: "helper", prompt: "x", wait: true }),
              d({ bot_id: "default", prompt: "x" }),
            ],
          };
        }
        return { text: "done" };
      });
      const sid = await t.session(`limits-${backend}`);
      const parentId = await inject(sid, "fan out");
      assert.equal((await t.waitForTask(parentId)).status, "complete");
      const calls = (await t.api("GET", `/api/v1/tasks/${parentId}/tool_calls`)).body as any[];
      const oks = calls.filter((c) => c.status === "ok");
      assert.equal(oks.length, 2, "two children at most (SWITCHYARD_DELEGATION_MAX_CHILDREN=2)");
      const errors = calls
        .filter((c) => c.status === "error")
        .map((c) => JSON.parse(c.result).error);
      assert.equal(errors.length, 4);
      assert.ok(
        errors.some((e) =>
          /^too many delegations: this task already made 2 \(SWITCHYARD_DELEGATION_MAX_CHILDREN is 2\)/.test(
            e,
          ),
        ),
        errors.join("\n"),
      );
      assert.ok(errors.includes("unknown bot: nobody"));
      assert.ok(errors.some((e) => /^wait: true is not supported/.test(e)));
      assert.ok(errors.some((e) => /^delegation cycle refused: default → default/.test(e)));
      const children = await tasksOf("bot=helper");
      assert.equal(
        children.filter((c) => c.callback_config?.parent_task_id === parentId).length,
        2,
      );
      t.llm.setResponder(null);
    });

    test("a child delegating back to its parent's bot is a cycle; deeper than the depth limit is refused", async () => {
      t.llm.reset();
      t.llm.setResponder((r) => {
        const sys = systemOf(r);
        if (sys.includes("helper")) {
          if (!hasToolResults(r)) {
            return {
              toolCalls: [
                { name: "delegate", args: { bot_id: "default", prompt: "back to you" } },
                { name: "delegate", args: { bot_id: "third", prompt: "go deeper" } },
              ],
            };
          }
          return { text: "helper gave up" };
        }
        if (lastUserText(r.messages).startsWith("[Task ")) return { text: "noted" };
        if (!hasToolResults(r)) {
          return { toolCalls: [{ name: "delegate", args: { bot_id: "helper", prompt: "try" } }] };
        }
        return { text: "asked" };
      });
      const sid = await t.session(`cycle-${backend}`);
      const parentId = await inject(sid, "start a chain");
      await t.waitForTask(parentId);
      const childId = JSON.parse(
        (await t.api("GET", `/api/v1/tasks/${parentId}/tool_calls`)).body[0].result,
      ).task_id;
      assert.equal((await t.waitForTask(childId)).result, "helper gave up");
      const calls = (await t.api("GET", `/api/v1/tasks/${childId}/tool_calls`)).body as any[];
      const err = (bot: string) =>
        JSON.parse(calls.find((c) => c.args.bot_id === bot).result).error;
      assert.match(err("default"), /^delegation cycle refused: default → helper → default/);
      assert.match(
        err("third"),
        /^delegation too deep: this task is already at depth 1 \(SWITCHYARD_DELEGATION_MAX_DEPTH is 1\)/,
      );
      assert.equal((await tasksOf("bot=third")).length, 0, "nothing was created for third");
      // The follow-up of the parent still runs once, on the child's answer.
      await until(async () => {
        const all = await tasksOf(`session_id=${sid}`);
        return all.find((x) => x.id !== parentId && x.status === "complete");
      }, "the parent's follow-up");
      t.llm.setResponder(null);
    });
  });
}
