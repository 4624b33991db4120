/**
 * Cancel over real HTTP while a task is inside a tool and while it waits for the model: the
 * tool's signal aborts, the model's connection is closed (the fake LLM sees it), and nothing
 * is recorded or delivered after — no assistant message, no result delivery, no further
 * model call. The lease is long (60 s, renewed every 20 s), so only the cancel itself can
 * stop the run within the waits below; a later marker task of the same session, delivered,
 * shows the moment a late outcome could have appeared has passed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

/** Far less than the 20 s renewal period: an abort seen within it came from the cancel. */
const ABORT_WAIT_MS = 5_000;

for (const backend of ALL_BACKENDS) {
  describe(`cancel stops a running task (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    let hook: CaptureServer;
    /** Resolved when the blocking tool starts; `aborted` when its signal fires (the reason). */
    let toolStarted: () => void = () => {};
    let toolAborted: (reason: unknown) => void = () => {};
    before(async () => {
      hook = await startCaptureServer();
      t = await startTestApp({ backend, tuning: { taskLeaseMs: 60_000 } });
      t.app.tools.register({
        name: "wait_for_cancel",
        description: "Blocks until the run is aborted",
        parameters: { type: "object", properties: {} },
        execute: (_args, ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener(
              "abort",
              () => {
                toolAborted(ctx.signal.reason);
                resolve("stopped");
              },
              { once: true },
            );
            toolStarted();
          }),
      });
    });
    after(async () => {
      await t.close();
      await hook.close();
    });

    const idle = async () => {
      for (let i = 0; i < 500; i++) {
        if (t.app.taskWorker.activeCount === 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error("the run never returned");
    };

    const within = <T>(p: Promise<T>, what: string) =>
      Promise.race([
        p,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${what} within ${ABORT_WAIT_MS} ms`)), ABORT_WAIT_MS),
        ),
      ]);

    /** Starts a task delivering to `/<path>`; returns session and task ids. */
    const start = async (path: string, extra: Record<string, unknown> = {}) => {
      const sid = await t.session(`${path}-${backend}`, {
        dispatch_config: { type: "webhook", url: `${hook.url}/${path}` },
      });
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "start",
        run_agent: true,
        ...extra,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return { sid, taskId: r.body.task_id as string };
    };

    /** What a cancelled task must have left: its user message only, no result delivery. */
    const assertNothingAfter = async (sid: string, taskId: string, path: string) => {
      const task = (await t.api("GET", `/api/v1/tasks/${taskId}`)).body;
      assert.equal(task.status, "cancelled");
      // A marker task of the same session, delivered: any late outcome would be in by now.
      const next = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "marker",
        run_agent: true,
      });
      assert.equal((await t.waitForTask(next.body.task_id)).status, "complete");
      let delivered = hook.requests.filter((q) => q.path === `/${path}`);
      for (let i = 0; i < 500 && delivered.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        delivered = hook.requests.filter((q) => q.path === `/${path}`);
      }
      assert.deepEqual(
        delivered.map((q) => q.json),
        [{ task_id: next.body.task_id, result: "echo: marker" }],
        "only the marker was delivered",
      );
      const msgs = (await t.api("GET", `/api/v1/sessions/${sid}/messages`)).body;
      assert.deepEqual(
        msgs.map((m: any) => `${m.role}: ${m.content}`),
        ["user: start", "user: marker", "assistant: echo: marker"],
        "no assistant message for the cancelled task",
      );
      assert.equal(
        (await t.api("GET", `/api/v1/tasks/${taskId}`)).body.status,
        "cancelled",
        "still cancelled",
      );
    };

    test("cancel during a tool: the tool sees the abort, the model is not called again", async () => {
      t.llm.reset();
      t.llm.enqueue({ toolCalls: [{ name: "wait_for_cancel", args: {} }] });
      const started = new Promise<void>((r) => {
        toolStarted = r;
      });
      const aborted = new Promise<unknown>((r) => {
        toolAborted = r;
      });
      const { sid, taskId } = await start("in-tool", {
        execution_config: { tools: ["wait_for_cancel"] },
      });
      await within(started, "the tool started");
      const c = await t.api("POST", `/api/v1/tasks/${taskId}/cancel`);
      assert.equal(c.status, 200);
      const reason = await within(aborted, "the tool saw the abort");
      assert.match(String((reason as Error)?.message ?? reason), /cancel/i);
      await idle();
      await assertNothingAfter(sid, taskId, "in-tool");
      assert.equal(
        t.llm.requests.length,
        2,
        "the tool call and the marker; nothing after the tool",
      );
    });

    test("cancel during a model call: the model connection is closed", async () => {
      t.llm.reset();
      t.llm.enqueue({ hang: true });
      const { sid, taskId } = await start("in-model");
      await t.llm.waitForRequests(1);
      const c = await t.api("POST", `/api/v1/tasks/${taskId}/cancel`);
      assert.equal(c.status, 200);
      await t.llm.waitForClientClose(1, ABORT_WAIT_MS);
      await idle();
      await assertNothingAfter(sid, taskId, "in-model");
      assert.equal(t.llm.requests.length, 2, "the hung call and the marker");
    });
  });
}
