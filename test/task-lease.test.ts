/**
 * Task leases over real HTTP, with two instances (two Apps on one database): a task that
 * runs longer than its lease keeps it by renewal and finishes once, with one attempt and one
 * model call; a cancel sent to the other instance stops the run (its model connection
 * closes) and nothing is recorded or delivered after, also when the cancelled task was
 * claimed in one batch with another that keeps running (they share the claim's lease token).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn, type TestDatabase } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";

/**
 * Short enough that a model answer held 4 × as long outlives it several times, long enough
 * that a renewal (every third of it) delayed by a loaded machine does not lose it.
 */
const LEASE_MS = 1000;

for (const backend of ALL_BACKENDS) {
  describe(`task leases across two instances (${backend})`, runsOn(backend), () => {
    let db: TestDatabase;
    let llm: FakeLlm;
    let hook: CaptureServer;
    let a: TestApp;
    let b: TestApp;
    before(async () => {
      db = await createTestDatabase(backend);
      llm = await startFakeLlm();
      hook = await startCaptureServer();
      const opts = { keepDb: db, llm, tuning: { taskLeaseMs: LEASE_MS, pollMs: 100 } };
      a = await startTestApp(opts);
      b = await startTestApp(opts);
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await hook.close();
      await llm.close();
      await db.drop();
    });

    /** Waits until neither instance runs a task (every run has returned). */
    const bothIdle = async () => {
      for (let i = 0; i < 500; i++) {
        if (a.app.taskWorker.activeCount + b.app.taskWorker.activeCount === 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error("a run never returned");
    };

    /** The capture server's requests to `path`, once there are at least `n`. */
    const toPath = async (path: string, n: number) => {
      for (let i = 0; i < 500; i++) {
        const got = hook.requests.filter((q) => q.path === path);
        if (got.length >= n) return got;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`fewer than ${n} requests to ${path}`);
    };

    test("a task running 4 leases long finishes once, with one attempt and one model call", async () => {
      llm.reset();
      llm.enqueue({ text: "slow but once", latencyMs: LEASE_MS * 4 });
      const sid = await a.session(`lease-${backend}`, {
        dispatch_config: { type: "webhook", url: `${hook.url}/lease` },
      });
      const r = await a.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "take your time",
        run_agent: true,
      });
      assert.equal(r.status, 201);
      const task = await b.waitForTask(r.body.task_id);
      assert.equal(task.status, "complete", JSON.stringify(task));
      assert.equal(task.result, "slow but once");
      assert.equal(task.attempts, 1, "never claimed a second time");
      // The delivery of the one result proves the run is over; then count what it left.
      await toPath("/lease", 1);
      await bothIdle();
      assert.equal(llm.requests.length, 1, "the model ran once");
      const msgs = (await a.api("GET", `/api/v1/sessions/${sid}/messages`)).body;
      assert.deepEqual(
        msgs.filter((m: any) => m.role === "assistant").map((m: any) => m.content),
        ["slow but once"],
      );
      assert.equal(hook.requests.filter((q) => q.path === "/lease").length, 1, "delivered once");
    });

    test("a cancel sent to the other instance stops the run: its model call is closed, nothing follows", async () => {
      llm.reset();
      llm.enqueue({ hang: true });
      const sid = await a.session(`cancel-remote-${backend}`, {
        dispatch_config: { type: "webhook", url: `${hook.url}/cancelled` },
      });
      const r = await a.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "hang on",
        run_agent: true,
      });
      const taskId = r.body.task_id as string;
      await llm.waitForRequests(1);
      const runner = a.app.taskWorker.activeCount === 1 ? a : b;
      const other = runner === a ? b : a;
      assert.equal(runner.app.taskWorker.activeCount, 1);
      assert.equal(other.app.taskWorker.activeCount, 0, "the cancel goes to the idle instance");
      const c = await other.api("POST", `/api/v1/tasks/${taskId}/cancel`);
      assert.equal(c.status, 200);
      // Only the running instance can close the model connection: it learnt of the cancel.
      await llm.waitForClientClose(1, 10 * LEASE_MS);
      await bothIdle();
      const task = await runner.waitForTask(taskId);
      assert.equal(task.status, "cancelled");
      assert.equal(task.attempts, 1);
      const msgs = (await runner.api("GET", `/api/v1/sessions/${sid}/messages`)).body;
      assert.deepEqual(
        msgs.map((m: any) => m.role),
        ["user"],
        "no assistant message",
      );
      const rows = (await runner.api("GET", `/api/v1/deliveries?task_id=${taskId}`)).body;
      assert.deepEqual(
        rows.filter((d: any) => d.target_type === "webhook"),
        [],
        "no result delivery",
      );
      // A later task of the same session is delivered: the moment the cancelled run could
      // have been delivered has passed (dispatches follow the session's order).
      const next = await runner.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "marker",
        run_agent: true,
      });
      assert.equal((await runner.waitForTask(next.body.task_id)).status, "complete");
      const delivered = await toPath("/cancelled", 1);
      assert.deepEqual(
        delivered.map((q) => q.json.result),
        ["echo: marker"],
      );
      assert.equal(llm.requests.length, 2, "the cancelled task never called the model again");
    });

    test("a cancel sent to the other instance stops one of two tasks claimed together; the other runs on", async () => {
      // Both tasks are pending before one claim pass of instance a takes them together.
      await a.app.taskWorker.stop();
      await b.app.taskWorker.stop();
      llm.reset();
      llm.enqueue({ hang: true }, { hang: true });
      const post = async (name: string) => {
        const sid = await b.session(`${name}-${backend}`, {
          dispatch_config: { type: "webhook", url: `${hook.url}/${name}` },
        });
        const r = await b.api("POST", `/api/v1/sessions/${sid}/messages`, {
          content: name,
          run_agent: true,
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return { sid, taskId: r.body.task_id as string };
      };
      const stopped = await post("batch-cancelled");
      const running = await post("batch-running");
      a.app.taskWorker.start();
      await llm.waitForRequests(2);
      const activeOnA = () => a.app.taskWorker.activeCount;
      assert.equal(activeOnA(), 2, "instance a runs both");

      const c = await b.api("POST", `/api/v1/tasks/${stopped.taskId}/cancel`);
      assert.equal(c.status, 200);
      // Instance a learns of the cancel from its lease renewal and closes that model call.
      await llm.waitForClientClose(1, 10 * LEASE_MS);
      const lastUser = (q: { messages: any[] }) =>
        q.messages.filter((m) => m.role === "user").at(-1)?.content;
      assert.deepEqual(llm.closedRequests.map(lastUser), ["batch-cancelled"]);
      assert.equal((await a.api("GET", `/api/v1/tasks/${running.taskId}`)).body.status, "running");
      for (let i = 0; i < 500 && activeOnA() !== 1; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(activeOnA(), 1, "the other task still runs");

      // Then the other one is cancelled too; nothing of either is recorded or delivered.
      assert.equal((await b.api("POST", `/api/v1/tasks/${running.taskId}/cancel`)).status, 200);
      await llm.waitForClientClose(2, 10 * LEASE_MS);
      await bothIdle();
      b.app.taskWorker.start();
      for (const { sid, taskId } of [stopped, running]) {
        const task = await a.waitForTask(taskId);
        assert.equal(task.status, "cancelled");
        assert.equal(task.attempts, 1);
        const msgs = (await a.api("GET", `/api/v1/sessions/${sid}/messages`)).body;
        assert.deepEqual(
          msgs.map((m: any) => m.role),
          ["user"],
        );
        const rows = (await a.api("GET", `/api/v1/deliveries?task_id=${taskId}`)).body;
        assert.deepEqual(
          rows.filter((d: any) => d.target_type === "webhook"),
          [],
        );
      }
      assert.equal(llm.requests.length, 2, "no further model call");
    });
  });
}
