/**
 * Crash safety with real processes: `switchyard serve` is killed with SIGKILL mid-task and
 * restarted on the same database; the expired lease returns the task to the queue and it
 * completes (attempts counted), or fails after 3 attempts. SIGTERM releases the lease at
 * once instead.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crashHarness } from "./support/crash-harness.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { callApi } from "./support/serve-process.ts";
import { waitFor } from "./support/wait.ts";

const KEY = "crash-test-key-0123456789";

const api = (url: string, method: string, path: string, body?: unknown) =>
  callApi(url, KEY, method, path, body);

for (const backend of ALL_BACKENDS) {
  describe(`process crash and restart on ${backend}`, runsOn(backend), () => {
    const h = crashHarness(backend, {
      apiKey: KEY,
      env: { SWITCHYARD_TASK_LEASE_SECONDS: "1", SWITCHYARD_SHUTDOWN_GRACE_SECONDS: "1" },
    });
    const start = () => h.start();

    test("kill -9 mid-task, restart: the task runs again and is delivered once", async () => {
      h.llm.reset();
      h.llm.enqueue({ hang: true }); // the first run never returns: the process dies in it
      let s = await start();
      const sid = (await api(s.url, "POST", "/api/v1/sessions", { client_id: "crash-1" })).body
        .session_id;
      const inj = await api(s.url, "POST", `/api/v1/sessions/${sid}/messages`, {
        content: "survive this",
        run_agent: true,
        dispatch_config: { type: "webhook", url: h.hook.url },
      });
      const taskId = inj.body.task_id as string;
      await h.llm.waitForRequests(1);
      assert.equal((await api(s.url, "GET", `/api/v1/tasks/${taskId}`)).body.status, "running");
      await s.kill();

      s = await start();
      const task = await waitFor(async () => {
        const t = (await api(s.url, "GET", `/api/v1/tasks/${taskId}`)).body;
        return t.status === "complete" ? t : undefined;
      }, "task to complete after restart");
      assert.equal(task.attempts, 2, "the crashed attempt is counted");
      assert.equal(task.result, "echo: survive this");
      const got = await h.hook.waitFor(1);
      // Its outcome recorded (delivered after one attempt), the row is never sent again.
      const row = await waitFor(async () => {
        const rows = (await api(s.url, "GET", `/api/v1/deliveries?task_id=${taskId}`)).body;
        const d = rows.find((x: any) => x.target_type === "webhook");
        return d?.status === "delivered" ? d : undefined;
      }, "the delivery's outcome to be recorded");
      assert.equal(row.attempts, 1);
      assert.equal(
        h.hook.requests.filter((r) => r.json?.task_id === taskId).length,
        1,
        "delivered once",
      );
      assert.equal(got[0]!.json.result, "echo: survive this");
      await s.kill();
    });

    test("after 3 crashed attempts the task fails with an error that says so", async () => {
      h.llm.reset();
      h.llm.setResponder(() => ({ hang: true }));
      let s = await start();
      const sid = (await api(s.url, "POST", "/api/v1/sessions", { client_id: "crash-3" })).body
        .session_id;
      const taskId = (
        await api(s.url, "POST", `/api/v1/sessions/${sid}/messages`, {
          content: "doomed",
          run_agent: true,
        })
      ).body.task_id as string;
      for (let attempt = 1; attempt <= 3; attempt++) {
        await h.llm.waitForRequests(attempt, 10_000);
        await s.kill();
        s = await start();
      }
      const task = await waitFor(async () => {
        const t = (await api(s.url, "GET", `/api/v1/tasks/${taskId}`)).body;
        return t.status === "failed" ? t : undefined;
      }, "task to fail");
      assert.equal(task.attempts, 3);
      assert.match(task.error, /failed after 3 attempts/);
      assert.equal(h.llm.requests.length, 3, "no fourth run");
      h.llm.setResponder(null);
      await s.kill();
    });

    test("SIGTERM gives the lease back: the next start runs the task at once, attempt not counted", async () => {
      h.llm.reset();
      h.llm.enqueue({ hang: true });
      let s = await start();
      const sid = (await api(s.url, "POST", "/api/v1/sessions", { client_id: "term-1" })).body
        .session_id;
      const taskId = (
        await api(s.url, "POST", `/api/v1/sessions/${sid}/messages`, {
          content: "graceful",
          run_agent: true,
        })
      ).body.task_id as string;
      await h.llm.waitForRequests(1);
      s.proc.kill("SIGTERM");
      assert.equal(await s.exited, 0, "clean exit after the grace period");
      s = await start();
      const task = await waitFor(async () => {
        const t = (await api(s.url, "GET", `/api/v1/tasks/${taskId}`)).body;
        return t.status === "complete" ? t : undefined;
      }, "task to complete");
      assert.equal(task.attempts, 1, "a released lease is not a failed attempt");
      await s.kill();
    });
  });
}
