/**
 * The main flow end to end over real HTTP: inject → task → fake LLM (with tools) → outbox
 * → dispatcher. Runs on SQLite, and on PostgreSQL when SWITCHYARD_TEST_POSTGRES_URL is set.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(`main flow on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let hook: CaptureServer;
    before(async () => {
      hook = await startCaptureServer();
      t = await startTestApp({
        backend,
        env: { TASK_MAX_RUN_SECONDS: "30" },
        tuning: { deliveryScheduleMs: [100, 100, 100], minBackoffAfterThrottleMs: 0 },
      });
    });
    after(async () => {
      await t.close();
      await hook.close();
    });

    /** The task's delivery row once it has `status` (or the last seen row after 10 s). */
    const deliveryRow = async (taskId: string, status: string) => {
      let row: any;
      for (let i = 0; i < 500; i++) {
        row = await t.app.store.db.kysely
          .selectFrom("deliveries")
          .selectAll()
          .where("task_id", "=", taskId)
          .executeTakeFirst();
        if (row?.status === status) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return row;
    };

    const inject = async (sid: string, content: string, extra: Record<string, unknown> = {}) => {
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content,
        run_agent: true,
        ...extra,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.ok(r.body.task_id);
      return r.body.task_id as string;
    };

    test("inject → agent with a tool call → webhook delivery, all recorded", async () => {
      t.app.tools.register({
        name: "lookup_weather",
        description: "Weather for a city",
        parameters: {
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"],
        },
        execute: async (args: { city: string }) => ({ city: args.city, forecast: "sunny" }),
      });
      await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["lookup_weather"],
        system_prompt: "Be a forecaster.",
      });
      const sid = await t.session(`weather-${backend}`, {
        dispatch_config: { type: "webhook", url: `${hook.url}/hook` },
      });
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "lookup_weather", args: { city: "Oslo" } }] },
        { text: "It is sunny in Oslo." },
      );
      const before = hook.requests.length;
      const taskId = await inject(sid, "Weather in Oslo?");

      const reqs = await hook.waitFor(before + 1);
      const delivery = reqs.find((r) => r.json?.task_id === taskId);
      assert.deepEqual(delivery?.json, { task_id: taskId, result: "It is sunny in Oslo." });
      assert.ok(delivery?.headers["webhook-id"], "delivery carries a stable webhook-id");

      const task = await t.waitForTask(taskId);
      assert.equal(task.status, "complete");
      assert.equal(task.result, "It is sunny in Oslo.");
      assert.equal(task.attempts, 1);

      // The model saw the system prompt, the tool, and then the tool's result.
      const [first, second] = t.llm.requests;
      assert.equal(first!.messages[0].role, "system");
      assert.match(first!.messages[0].content, /forecaster/);
      assert.deepEqual(
        first!.tools.map((x: any) => x.function.name),
        ["lookup_weather"],
      );
      const toolMsg = second!.messages.find((m: any) => m.role === "tool");
      assert.deepEqual(JSON.parse(toolMsg.content), { city: "Oslo", forecast: "sunny" });

      const calls = await t.api("GET", `/api/v1/tasks/${taskId}/tool_calls`);
      assert.equal(calls.body.length, 1);
      assert.equal(calls.body[0].name, "lookup_weather");
      assert.deepEqual(calls.body[0].args, { city: "Oslo" });
      assert.equal(calls.body[0].status, "ok");

      const msgs = await t.api("GET", `/api/v1/sessions/${sid}/messages`);
      assert.deepEqual(
        msgs.body.map((m: any) => [m.role, m.content]),
        [
          ["user", "Weather in Oslo?"],
          ["assistant", "It is sunny in Oslo."],
        ],
      );
      await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: [],
        system_prompt: "You are a helpful assistant.",
      });
    });

    test("a tool that throws returns {error} to the model; the turn goes on", async () => {
      t.app.tools.register({
        name: "broken_tool",
        description: "Always fails",
        parameters: { type: "object", properties: {} },
        execute: () => {
          throw new Error("disk on fire");
        },
      });
      const sid = await t.session(`broken-${backend}`);
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "broken_tool", args: {} }] },
        { text: "The tool failed, sorry." },
      );
      const taskId = await inject(sid, "use the tool", {
        execution_config: { tools: ["broken_tool"] },
      });
      const task = await t.waitForTask(taskId);
      assert.equal(task.status, "complete");
      assert.equal(task.result, "The tool failed, sorry.");
      const toolMsg = t.llm.requests[1]!.messages.find((m: any) => m.role === "tool");
      assert.deepEqual(JSON.parse(toolMsg.content), { error: "disk on fire" });
      const calls = await t.api("GET", `/api/v1/tasks/${taskId}/tool_calls`);
      assert.equal(calls.body[0].status, "error");
    });

    test("a receiver answering 500 gets the result once it is back; the LLM is not called again", async () => {
      const flaky = await startCaptureServer();
      after(() => flaky.close());
      // 3 inline attempts fail, then one durable retry fails too, then it is back.
      flaky.setResponder((_r, i) => (i < 4 ? { status: 500, body: { error: "down" } } : undefined));
      const sid = await t.session(`flaky-${backend}`);
      t.llm.reset();
      const taskId = await inject(sid, "hello flaky", {
        dispatch_config: { type: "webhook", url: flaky.url },
      });
      const reqs = await flaky.waitFor(5, 10_000);
      assert.equal(reqs.length, 5);
      assert.deepEqual(reqs[4]!.json, { task_id: taskId, result: "echo: hello flaky" });
      assert.equal(
        new Set(reqs.map((r) => r.headers["webhook-id"])).size,
        1,
        "same webhook-id on every retry",
      );
      assert.equal(t.llm.requests.length, 1, "the LLM ran once");
      const row = await deliveryRow(taskId, "delivered");
      assert.equal(row.status, "delivered");
      assert.equal(Number(row.attempts), 2);
      const count = await t.app.store.db.kysely
        .selectFrom("deliveries")
        .select("id")
        .where("task_id", "=", taskId)
        .execute();
      assert.equal(count.length, 1, "one delivery for the task");
    });

    test("a receiver that never recovers ends dead, with its last error recorded", async () => {
      const down = await startCaptureServer();
      after(() => down.close());
      down.setResponder(() => ({ status: 503 }));
      const sid = await t.session(`down-${backend}`);
      const taskId = await inject(sid, "to nowhere", {
        dispatch_config: { type: "webhook", url: down.url },
      });
      const row = await deliveryRow(taskId, "dead");
      assert.equal(row.status, "dead");
      assert.equal(Number(row.attempts), 4, "1 + the 3 scheduled retries");
      assert.equal(Number(row.last_status), 503);
      assert.equal(down.requests.length, 12, "3 inline attempts per outbox attempt");
    });

    test("internal dispatch adds the result as a user message to another session", async () => {
      const target = await t.session(`inbox-${backend}`);
      const sid = await t.session(`worker-${backend}`);
      t.llm.reset();
      t.llm.enqueue({ text: "report ready" });
      const taskId = await inject(sid, "make a report", {
        dispatch_config: { type: "internal", session_id: target },
      });
      await t.waitForTask(taskId);
      let msgs: any;
      for (let i = 0; i < 100; i++) {
        msgs = (await t.api("GET", `/api/v1/sessions/${target}/messages`)).body;
        if (msgs.length) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(msgs.length, 1);
      assert.equal(msgs[0].role, "user");
      assert.equal(msgs[0].content, `[Task ${taskId} completed]\n\nreport ready`);
    });

    test("a replayed internal delivery adds its message once: the delivery id is the dedupe key", async () => {
      const target = await t.session(`inbox-replay-${backend}`);
      const sid = await t.session(`worker-replay-${backend}`);
      t.llm.reset();
      t.llm.enqueue({ text: "said once" });
      const taskId = await inject(sid, "report once", {
        dispatch_config: { type: "internal", session_id: target },
      });
      await t.waitForTask(taskId);
      const first = await deliveryRow(taskId, "delivered");
      assert.equal(first.status, "delivered");
      const replay = await t.api("POST", `/api/v1/deliveries/${first.id}/replay`);
      assert.equal(replay.status, 200, JSON.stringify(replay.body));
      assert.equal(replay.body.status, "pending");
      const again = await deliveryRow(taskId, "delivered");
      assert.equal(again.status, "delivered", "the replay was delivered too");
      assert.equal(again.id, first.id);
      const msgs = (await t.api("GET", `/api/v1/sessions/${target}/messages`)).body;
      assert.deepEqual(
        msgs.map((m: any) => m.content),
        [`[Task ${taskId} completed]\n\nsaid once`],
      );
      assert.equal(msgs[0].metadata.source, "internal");
      assert.equal(msgs[0].metadata.delivery_id, first.id);
    });

    test("an unknown dispatch type falls back to none: the result stays in the database", async () => {
      const sid = await t.session(`unknown-dispatch-${backend}`);
      const taskId = await inject(sid, "where does this go", {
        dispatch_config: { type: "carrier-pigeon" },
      });
      const task = await t.waitForTask(taskId);
      assert.equal(task.status, "complete");
      assert.equal(task.dispatch_type, "carrier-pigeon");
      assert.equal(task.result, "echo: where does this go");
      const row = await deliveryRow(taskId, "delivered");
      assert.equal(row.status, "delivered", "handed to the none dispatcher");
    });

    test("a model error fails the task and the failure is delivered as [Error: …]", async () => {
      const sid = await t.session(`llm-error-${backend}`, {
        dispatch_config: { type: "webhook", url: hook.url },
      });
      t.llm.reset();
      t.llm.enqueue({ status: 500, body: { error: { message: "model exploded" } } });
      const taskId = await inject(sid, "fail please");
      const task = await t.waitForTask(taskId);
      assert.equal(task.status, "failed");
      assert.match(task.error, /500/);
      const reqs = await hook.waitFor(1);
      const got = await (async () => {
        for (let i = 0; i < 100; i++) {
          const r = hook.requests.find((x) => x.json?.task_id === taskId);
          if (r) return r;
          await new Promise((res) => setTimeout(res, 20));
        }
        return reqs.find((x) => x.json?.task_id === taskId);
      })();
      assert.match(got!.json.result, /^\[Error: .*500/);
    });

    test("a 429 (model retries off here) goes on to the bot's fallback model", async () => {
      // With retries at their default, see test/model-failover.test.ts.
      await t.api("POST", "/api/v1/admin/bots", {
        id: `fallback-${backend}`,
        model: "openai-compatible:primary",
        fallback_models: ["openai-compatible:backup"],
      });
      const sid = await t.session(`fallback-${backend}`, { bot_id: `fallback-${backend}` });
      t.llm.reset();
      t.llm.setResponder((req) =>
        req.model === "primary"
          ? { status: 429, retryAfter: "0" }
          : { text: `answered by ${req.model}` },
      );
      const taskId = await inject(sid, "anyone there?");
      const task = await t.waitForTask(taskId);
      assert.equal(task.status, "complete");
      assert.equal(task.result, "answered by backup");
      assert.deepEqual(
        t.llm.requests.map((r) => r.model),
        ["primary", "backup"],
      );
      t.llm.setResponder(null);
    });

    test("a task over its time limit fails with 'Timed out after Ns'", async () => {
      const sid = await t.session(`timeout-${backend}`);
      t.llm.reset();
      t.llm.enqueue({ hang: true });
      const taskId = await inject(sid, "take forever", { max_run_seconds: 1 });
      const task = await t.waitForTask(taskId, undefined, 5000);
      assert.equal(task.status, "failed");
      assert.equal(task.error, "Timed out after 1s");
    });

    test("cancel: a pending task never runs; a running task stops; a finished one → 409", async () => {
      const sid = await t.session(`cancel-${backend}`);
      t.llm.reset();
      t.llm.enqueue({ hang: true });
      const running = await inject(sid, "first (hangs)");
      const pending = await inject(sid, "second (waits behind the first)");
      await t.waitForTask(running, ["running"]);
      const c1 = await t.api("POST", `/api/v1/tasks/${pending}/cancel`);
      assert.equal(c1.status, 200);
      assert.equal(c1.body.status, "cancelled");
      const c2 = await t.api("POST", `/api/v1/tasks/${running}/cancel`);
      assert.equal(c2.body.status, "cancelled");
      // The run itself stopped: its model connection was closed (test/cancel.test.ts has more).
      await t.llm.waitForClientClose(1);
      const again = await t.api("POST", `/api/v1/tasks/${running}/cancel`);
      assert.equal(again.status, 409);
      // The session is free again; by the time the third task is done, the cancelled
      // pending one would have run before it.
      const next = await inject(sid, "third");
      assert.equal((await t.waitForTask(next)).status, "complete");
      assert.deepEqual(
        t.llm.requests.map((r) => r.messages.at(-1).content),
        ["first (hangs)", "third"],
        "the cancelled pending task never reached the model",
      );
      assert.equal((await t.api("GET", `/api/v1/tasks/${pending}`)).body.attempts, 0);
    });

    test("per-session order with cross-session concurrency", async () => {
      t.llm.reset();
      t.llm.setDefaultLatency(150);
      const active = new Map<string, number>();
      let maxParallel = 0;
      let overlapInSession = false;
      const calls = new Map<string, string[]>();
      t.llm.setResponder(async (req) => {
        const text = req.messages.at(-1).content as string;
        const session = text.split(":")[0]!;
        calls.set(session, [...(calls.get(session) ?? []), text]);
        const n = (active.get(session) ?? 0) + 1;
        active.set(session, n);
        if (n > 1) overlapInSession = true;
        maxParallel = Math.max(
          maxParallel,
          [...active.values()].reduce((a, b) => a + b, 0),
        );
        setTimeout(() => active.set(session, (active.get(session) ?? 1) - 1), 140);
        return { text: `done ${text}` };
      });
      const sessions = await Promise.all(
        [0, 1, 2, 3].map((i) => t.session(`order-${backend}-${i}`)),
      );
      const ids: string[][] = [[], [], [], []];
      for (let k = 0; k < 3; k++) {
        for (let i = 0; i < 4; i++) ids[i]!.push(await inject(sessions[i]!, `s${i}:${k}`));
      }
      const tasks = await Promise.all(ids.flat().map((id) => t.waitForTask(id)));
      assert.ok(tasks.every((x) => x.status === "complete"));
      assert.equal(overlapInSession, false, "never two tasks of one session at once");
      assert.ok(maxParallel >= 2, `sessions ran concurrently (max ${maxParallel})`);
      for (let i = 0; i < 4; i++) {
        assert.deepEqual(
          calls.get(`s${i}`),
          [`s${i}:0`, `s${i}:1`, `s${i}:2`],
          "the model saw them in order",
        );
        const msgs = (await t.api("GET", `/api/v1/sessions/${sessions[i]}/messages`)).body;
        assert.deepEqual(
          msgs.filter((m: any) => m.role === "assistant").map((m: any) => m.content),
          [`done s${i}:0`, `done s${i}:1`, `done s${i}:2`],
        );
      }
      t.llm.setResponder(null);
      t.llm.setDefaultLatency(0);
    });

    test("a queued message's turn sees the answer to the message before it", async () => {
      const sid = await t.session(`burst-${backend}`);
      t.llm.reset();
      t.llm.setDefaultLatency(50);
      const first = await inject(sid, "My name is Ada.");
      const second = await inject(sid, "What is my name?");
      await t.waitForTask(second);
      assert.equal((await t.api("GET", `/api/v1/tasks/${first}`)).body.status, "complete");
      const seen = t.llm.requests[1]!.messages.map((m: any) => `${m.role}: ${m.content}`);
      assert.deepEqual(seen.slice(-3), [
        "user: My name is Ada.",
        "assistant: echo: My name is Ada.",
        "user: What is my name?",
      ]);
      t.llm.setDefaultLatency(0);
    });

    test("a tool that ignores its abort signal cannot hold a task past its time limit", async () => {
      t.app.tools.register({
        name: "stuck_tool",
        description: "Never returns",
        parameters: { type: "object", properties: {} },
        execute: () => new Promise(() => {}),
      });
      const sid = await t.session(`stuck-${backend}`);
      t.llm.reset();
      t.llm.enqueue({ toolCalls: [{ name: "stuck_tool", args: {} }] });
      const taskId = await inject(sid, "get stuck", {
        max_run_seconds: 1,
        execution_config: { tools: ["stuck_tool"] },
      });
      const task = await t.waitForTask(taskId, undefined, 5000);
      assert.equal(task.status, "failed");
      assert.equal(task.error, "Timed out after 1s");
      const next = await inject(sid, "the session is free again");
      assert.equal((await t.waitForTask(next)).status, "complete");
    });

    test("a model still calling tools after 10 steps fails the task with a clear error", async () => {
      t.app.tools.register({
        name: "again_tool",
        description: "Returns ok",
        parameters: { type: "object", properties: { n: { type: "number" } } },
        execute: () => "ok",
      });
      const sid = await t.session(`steps-${backend}`);
      t.llm.reset();
      // Different arguments each time: the repeated-call guard (3 identical calls) stays out of it.
      let n = 0;
      t.llm.setResponder(() => ({ toolCalls: [{ name: "again_tool", args: { n: n++ } }] }));
      const taskId = await inject(sid, "loop forever", {
        execution_config: { tools: ["again_tool"] },
      });
      const task = await t.waitForTask(taskId);
      t.llm.setResponder(null);
      assert.equal(task.status, "failed");
      assert.match(task.error, /still calling tools after 10 steps/);
      assert.equal(t.llm.requests.length, 10);
    });

    test("a failed task reaches an internal target as failed, and session reads hide secrets", async () => {
      const target = await t.session(`inbox-fail-${backend}`);
      const sid = await t.session(`secret-${backend}`, {
        // An integration's dispatch type (its config shape is its own; webhook's is strict).
        dispatch_config: {
          type: "chat-integration",
          url: "https://user:pw@hooks.example.com/T000/B000/XXXX?token=abc",
          secret: "s3cr3t",
        },
      });
      const read = await t.api("GET", `/api/v1/sessions/${sid}`);
      const text = JSON.stringify(read.body);
      for (const leak of ["pw@", "XXXX", "token=abc", "s3cr3t"])
        assert.ok(!text.includes(leak), `no ${leak} in ${text}`);
      assert.equal(read.body.dispatch_config.secret, "****");
      t.llm.reset();
      t.llm.enqueue({ status: 400, body: { error: { message: "bad request" } } });
      const taskId = await inject(sid, "fail to inbox", {
        dispatch_config: { type: "internal", session_id: target },
      });
      assert.equal((await t.waitForTask(taskId)).status, "failed");
      let msgs: any[] = [];
      for (let i = 0; i < 100 && msgs.length === 0; i++) {
        msgs = (await t.api("GET", `/api/v1/sessions/${target}/messages`)).body;
        if (!msgs.length) await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(msgs[0].content, new RegExp(`^\\[Task ${taskId} failed\\]\n\n\\[Error: `));
    });

    test("the model sees the session's history before the new message", async () => {
      const sid = await t.session(`history-${backend}`);
      t.llm.reset();
      await t.api("POST", `/api/v1/sessions/${sid}/messages`, { content: "my name is Ada" });
      const taskId = await inject(sid, "what is my name?");
      await t.waitForTask(taskId);
      const contents = t.llm.requests[0]!.messages.filter((m: any) => m.role === "user").map(
        (m: any) => m.content,
      );
      assert.deepEqual(contents, ["my name is Ada", "what is my name?"]);
    });
  });
}
