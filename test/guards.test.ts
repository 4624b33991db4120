/**
 * Turn guards (issue 13) over real HTTP with the fake LLM: a model that repeats one tool
 * call is refused after SWITCHYARD_MAX_REPEATED_TOOL_CALLS runs (it sees the tool error)
 * and the turn fails if it goes on; token usage is recorded per task from what the model
 * reports; a bot (or session) over its day's budget fails the task before any model call,
 * with an `error` event. SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BudgetExceededError, checkTokenBudget, utcDay } from "../src/agent/budget.ts";
import { canonicalJson, RepeatedCallGuard } from "../src/agent/guards.ts";
import { loadConfig } from "../src/config.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

describe("RepeatedCallGuard", () => {
  test("runs a call `limit` times, refuses the next, then asks to fail; keys in any order match", () => {
    const g = new RepeatedCallGuard(2);
    assert.equal(g.check("t", { a: 1, b: [1, { c: 2, d: 3 }] }).action, "run");
    assert.equal(g.check("t", { b: [1, { d: 3, c: 2 }], a: 1 }).action, "run");
    assert.equal(g.check("other", { a: 1, b: [1, { c: 2, d: 3 }] }).action, "run");
    assert.equal(g.check("t", { a: 2 }).action, "run");
    const refused = g.check("t", { a: 1, b: [1, { c: 2, d: 3 }] });
    assert.equal(refused.action, "refuse");
    assert.equal(g.failure, undefined);
    const fail = g.check("t", { b: [1, { c: 2, d: 3 }], a: 1 });
    assert.equal(fail.action, "fail");
    assert.match(g.failure!, /kept calling t with the same arguments/);
  });
  test("canonicalJson sorts keys at every level and keeps array order", () => {
    assert.equal(canonicalJson({ b: 1, a: { d: 1, c: 2 } }), '{"a":{"c":2,"d":1},"b":1}');
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  });
});

describe("SWITCHYARD_MAX_REPEATED_TOOL_CALLS", () => {
  test("defaults to 3; a bad value is refused naming the variable", () => {
    assert.equal(loadConfig({}, "/tmp").SWITCHYARD_MAX_REPEATED_TOOL_CALLS, 3);
    assert.equal(
      loadConfig({ SWITCHYARD_MAX_REPEATED_TOOL_CALLS: "5" }, "/tmp")
        .SWITCHYARD_MAX_REPEATED_TOOL_CALLS,
      5,
    );
    for (const bad of ["0", "-1", "two", "1.5"]) {
      assert.throws(
        () => loadConfig({ SWITCHYARD_MAX_REPEATED_TOOL_CALLS: bad }, "/tmp"),
        /SWITCHYARD_MAX_REPEATED_TOOL_CALLS/,
      );
    }
  });
});

describe("checkTokenBudget", () => {
  const usage = (byBot: number, bySession: number) => ({
    totalOn: async (_day: string, _bot: string, session?: string) =>
      session === undefined ? byBot : bySession,
  });
  test("no budget, or under it: passes; at or over: BudgetExceededError naming the limit", async () => {
    await checkTokenBudget(usage(1e9, 1e9), null, "b", "s");
    await checkTokenBudget(usage(99, 99), { tokensPerDay: 100 }, "b", "s");
    await assert.rejects(
      checkTokenBudget(usage(100, 0), { tokensPerDay: 100 }, "b", "s", Date.UTC(2026, 0, 2, 23)),
      (err: unknown) =>
        err instanceof BudgetExceededError &&
        err.scope === "bot" &&
        err.day === "2026-01-02" &&
        /^Token budget exceeded: 100 of 100 tokens used on 2026-01-02/.test(err.message),
    );
    await assert.rejects(
      checkTokenBudget(usage(10, 50), { tokensPerDay: 1000, tokensPerSessionPerDay: 50 }, "b", "s"),
      (err: unknown) => err instanceof BudgetExceededError && err.scope === "session",
    );
  });
  test("the day is the UTC day", () => {
    assert.equal(utcDay(Date.UTC(2026, 2, 1, 0, 0, 0)), "2026-03-01");
    assert.equal(utcDay(Date.UTC(2026, 2, 1, 0, 0, 0) - 1), "2026-02-28");
  });
});

for (const backend of ALL_BACKENDS) {
  describe(`turn guards on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let hook: CaptureServer;
    let runs = 0;
    before(async () => {
      hook = await startCaptureServer();
      t = await startTestApp({ backend, tuning: { pollMs: 50, deliveryScheduleMs: [20] } });
      t.app.tools.register({
        name: "count_tool",
        description: "Counts its runs",
        parameters: {
          type: "object",
          properties: { q: { type: "string" }, n: { type: "number" } },
        },
        execute: () => {
          runs++;
          return { runs };
        },
      });
      const r = await t.api("POST", "/api/v1/webhooks", {
        url: `${hook.url}/errors`,
        events: ["error"],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    });
    after(async () => {
      await t.close();
      await hook.close();
    });

    const inject = async (sid: string, content: string, extra: Record<string, unknown> = {}) => {
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content,
        run_agent: true,
        execution_config: { tools: ["count_tool"] },
        ...extra,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.task_id as string;
    };
    const toolMessages = (req: { messages: any[] }) =>
      req.messages.filter((m) => m.role === "tool").map((m) => String(m.content));

    test("a model repeating one call forever: the tool runs 3 times, the 4th is refused (the model sees why), the 5th fails the turn", async () => {
      runs = 0;
      t.llm.reset();
      let i = 0;
      // The same arguments with their keys in a different order each time.
      t.llm.setResponder(() => ({
        toolCalls: [
          { name: "count_tool", args: i++ % 2 ? { q: "same", n: 1 } : { n: 1, q: "same" } },
        ],
      }));
      const sid = await t.session(`repeat-${backend}`);
      const task = await t.waitForTask(await inject(sid, "loop"));
      t.llm.setResponder(null);
      assert.equal(task.status, "failed");
      assert.match(
        task.error,
        /^Turn stopped: the model kept calling count_tool with the same arguments/,
      );
      assert.equal(runs, 3, "the tool ran exactly 3 times");
      assert.equal(t.llm.requests.length, 5, "stopped at the call after the refusal");
      const seen = toolMessages(t.llm.requests[4]!);
      assert.equal(seen.length, 4);
      assert.match(seen[3]!, /Refused: count_tool was already called 3 times in this turn/);
      assert.ok(!toolMessages(t.llm.requests[3]!).some((m) => m.includes("Refused")));
      const calls = (await t.api("GET", `/api/v1/tasks/${task.id}/tool_calls`)).body;
      assert.deepEqual(
        calls.map((c: any) => c.status),
        ["ok", "ok", "ok", "error", "error"],
      );
    });

    test("a model that changes course after the refusal finishes its turn", async () => {
      runs = 0;
      t.llm.reset();
      const same = { toolCalls: [{ name: "count_tool", args: { q: "x" } }] };
      t.llm.enqueue(same, same, same, same, {
        toolCalls: [{ name: "count_tool", args: { q: "y" } }],
      });
      t.llm.enqueue({ text: "done differently" });
      const sid = await t.session(`course-${backend}`);
      const task = await t.waitForTask(await inject(sid, "try"));
      assert.equal(task.status, "complete", JSON.stringify(task));
      assert.equal(task.result, "done differently");
      assert.equal(runs, 4, "three with x, one with y");
      assert.match(toolMessages(t.llm.requests[4]!)[3]!, /Refused/);
    });

    test("admin API: budget is validated with clear 400s, stored and shown", async () => {
      for (const [budget, want] of [
        [{ tokens_per_day: 0 }, /budget\.tokens_per_day: must be at least 1/],
        [{ tokens_per_day: 1.5 }, /budget\.tokens_per_day: expected a whole number of tokens/],
        [{ tokens_per_day: "100" }, /budget\.tokens_per_day: expected a whole number of tokens/],
        [
          { tokens_per_session_per_day: -5 },
          /budget\.tokens_per_session_per_day: must be at least 1/,
        ],
        [{ tokens_per_week: 5 }, /budget\.tokens_per_week: unknown field/],
        [[100], /budget: Invalid input: expected object/],
      ] as const) {
        const r = await t.api("POST", "/api/v1/admin/bots", { id: `bad-${backend}`, budget });
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.match(JSON.stringify(r.body), want);
      }
      const r = await t.api("POST", "/api/v1/admin/bots", {
        id: `budgeted-${backend}`,
        budget: { tokens_per_day: 500 },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.body.budget, { tokens_per_day: 500 });
      const u = await t.api("PUT", `/api/v1/admin/bots/budgeted-${backend}`, {
        budget: { tokens_per_day: 1000, tokens_per_session_per_day: 200 },
      });
      assert.deepEqual(u.body.budget, { tokens_per_day: 1000, tokens_per_session_per_day: 200 });
      const cleared = await t.api("PUT", `/api/v1/admin/bots/budgeted-${backend}`, {
        budget: null,
      });
      assert.equal(cleared.body.budget, null);
      assert.equal((await t.api("GET", "/api/v1/admin/bots/default")).body.budget, null);
    });

    test("usage is recorded per task (every step summed); over the bot's day budget the next task fails before any model call, with an error event", async () => {
      const bot = `daily-${backend}`;
      await t.api("POST", "/api/v1/admin/bots", { id: bot, budget: { tokens_per_day: 100 } });
      const s1 = await t.session(`budget-a-${backend}`, { bot_id: bot });
      const s2 = await t.session(`budget-b-${backend}`, { bot_id: bot });
      // Yesterday's tokens (UTC) do not count today.
      const yesterday = utcDay(Date.now() - 86_400_000);
      await t.app.store.tokenUsage.add({ taskId: "none", botId: bot, sessionId: s1 }, yesterday, {
        inputTokens: 5000,
        outputTokens: 0,
        totalTokens: 5000,
      });
      t.llm.reset();
      t.llm.enqueue(
        {
          toolCalls: [{ name: "count_tool", args: { q: "u" } }],
          usage: { prompt: 40, completion: 8 },
        },
        { text: "first", usage: { prompt: 50, completion: 12 } },
      );
      const first = await t.waitForTask(await inject(s1, "spend"));
      assert.equal(first.status, "complete");
      assert.equal(first.input_tokens, 90);
      assert.equal(first.output_tokens, 20);
      assert.equal(first.total_tokens, 110);
      const listed = (await t.api("GET", `/api/v1/tasks?session_id=${s1}`)).body.items[0];
      assert.equal(listed.total_tokens, 110);

      const before = t.llm.requests.length;
      const refusedId = await inject(s2, "one more");
      const refused = await t.waitForTask(refusedId);
      assert.equal(refused.status, "failed");
      assert.match(
        refused.error,
        /^Token budget exceeded: 110 of 100 tokens used on \d{4}-\d\d-\d\d \(UTC\)/,
      );
      assert.equal(refused.total_tokens, null, "no tokens for a refused task");
      assert.equal(t.llm.requests.length, before, "the model was never called for it");
      assert.ok(
        !t.llm.requests.some((r) => JSON.stringify(r.messages).includes("one more")),
        "no request carries the refused prompt",
      );
      const ev = await hook.waitFor(1, 10_000).then(async () => {
        const end = Date.now() + 10_000;
        while (Date.now() < end) {
          const hit = hook.requests.find((r) => r.json?.data?.task_id === refusedId);
          if (hit) return hit;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error("no error event for the refused task");
      });
      assert.equal(ev.json.event, "error");
      assert.equal(ev.json.data.source, "token_budget");
      assert.equal(ev.json.data.scope, "bot");
      assert.equal(ev.json.data.limit, 100);
      assert.match(ev.json.data.error, /^Token budget exceeded/);
    });

    test("tokens_per_session_per_day: one session over its budget is refused, another session of the bot still runs", async () => {
      const bot = `per-session-${backend}`;
      await t.api("POST", "/api/v1/admin/bots", {
        id: bot,
        budget: { tokens_per_session_per_day: 50 },
      });
      const a = await t.session(`sess-a-${backend}`, { bot_id: bot });
      const b = await t.session(`sess-b-${backend}`, { bot_id: bot });
      t.llm.reset();
      t.llm.enqueue({ text: "a1", usage: { prompt: 45, completion: 10 } });
      assert.equal((await t.waitForTask(await inject(a, "a1"))).total_tokens, 55);
      const refused = await t.waitForTask(await inject(a, "a2"));
      assert.equal(refused.status, "failed");
      assert.match(refused.error, /Token budget exceeded: 55 of 50 .*tokens_per_session_per_day/);
      t.llm.enqueue({ text: "b1", usage: { prompt: 10, completion: 10 } });
      const other = await t.waitForTask(await inject(b, "b1"));
      assert.equal(other.status, "complete");
      assert.equal(t.llm.requests.length, 2);
    });
  });
}
