/**
 * Approvals survive crashes, with real `switchyard serve` processes on one database: a
 * task waits for approval, the server is killed with SIGKILL, a new one starts, the
 * approval is given to it and the tool runs exactly once (its runs are lines in a file the
 * tool appends to). And a server killed while running an approved tool: the turn resumes
 * on restart but the tool is not run a second time (the model is told). SQLite and
 * PostgreSQL.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { crashHarness } from "./support/crash-harness.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { callApi } from "./support/serve-process.ts";
import { waitFor } from "./support/wait.ts";

const KEY = "approval-crash-key-0123456789";
const api = (url: string, method: string, path: string, body?: unknown) =>
  callApi(url, KEY, method, path, body);

for (const backend of ALL_BACKENDS) {
  describe(`approvals across kill -9 on ${backend}`, runsOn(backend), () => {
    const h = crashHarness(backend, {
      apiKey: KEY,
      env: { SWITCHYARD_TASK_LEASE_SECONDS: "1", SWITCHYARD_SHUTDOWN_GRACE_SECONDS: "1" },
    });
    const tools = join(h.dataDir, "tools");
    const runsFile = join(h.dataDir, "runs.log");
    const startedFile = join(h.dataDir, "started.log");
    const runs = () =>
      existsSync(runsFile) ? readFileSync(runsFile, "utf8").split("\n").filter(Boolean) : [];

    before(() => {
      mkdirSync(tools);
      // A tool whose every run is a line in runs.log; `hang: true` marks its start in
      // started.log and never returns (the process is killed inside it).
      writeFileSync(
        join(tools, "launch.ts"),
        `import { appendFileSync } from "node:fs";
export default {
  name: "launch",
  description: "Launches a rocket",
  parameters: { type: "object", properties: { rocket: { type: "string" }, hang: { type: "boolean" } } },
  execute: async (a) => {
    if (a.hang) { appendFileSync(${JSON.stringify(startedFile)}, "started\\n"); return new Promise(() => {}); }
    appendFileSync(${JSON.stringify(runsFile)}, JSON.stringify(a) + "\\n");
    return "launched " + a.rocket;
  },
};
`,
      );
    });

    const start = () => h.start({ TOOL_DIRS: tools });
    const pending = (url: string, taskId: string) =>
      waitFor(async () => {
        const r = await api(url, "GET", `/api/v1/approvals?status=pending&task_id=${taskId}`);
        return r.body?.length ? r.body[0] : undefined;
      }, "a pending approval");

    test("kill -9 while waiting; approved on the restarted server → the tool runs exactly once", async () => {
      let s = await start();
      const bot = await api(s.url, "PUT", "/api/v1/admin/bots/default", {
        tools: ["launch"],
        approval: { default: "always" },
      });
      assert.equal(bot.status, 200, JSON.stringify(bot.body));
      h.llm.reset();
      h.llm.enqueue(
        { toolCalls: [{ name: "launch", args: { rocket: "saturn" } }] },
        { text: "Saturn is up." },
      );
      const sid = (await api(s.url, "POST", "/api/v1/sessions", { client_id: "crash-approve" }))
        .body.session_id;
      const taskId = (
        await api(s.url, "POST", `/api/v1/sessions/${sid}/messages`, {
          content: "launch saturn",
          run_agent: true,
        })
      ).body.task_id as string;
      const a = await pending(s.url, taskId);
      assert.equal(
        (await api(s.url, "GET", `/api/v1/tasks/${taskId}`)).body.status,
        "waiting_approval",
      );
      await s.kill();

      s = await start();
      const still = await api(s.url, "GET", `/api/v1/approvals/${a.id}`);
      assert.equal(still.body.status, "pending", "the request outlived the process");
      assert.equal(runs().length, 0);
      const d = await api(s.url, "POST", `/api/v1/approvals/${a.id}`, { decision: "approve" });
      assert.equal(d.status, 200, JSON.stringify(d.body));
      const task = await waitFor(async () => {
        const t = (await api(s.url, "GET", `/api/v1/tasks/${taskId}`)).body;
        return t.status === "complete" ? t : undefined;
      }, "the task to complete");
      assert.equal(task.result, "Saturn is up.");
      assert.deepEqual(runs(), [JSON.stringify({ rocket: "saturn" })], "ran exactly once");
      const toolMsg = h.llm.requests[1]!.messages.find((m: any) => m.role === "tool");
      assert.equal(toolMsg.content, "launched saturn");
      await s.kill();
    });

    test("kill -9 inside an approved tool: the turn resumes after restart, the tool is not run again", async () => {
      let s = await start();
      h.llm.reset();
      h.llm.enqueue(
        { toolCalls: [{ name: "launch", args: { rocket: "apollo", hang: true } }] },
        { text: "The launch was interrupted." },
      );
      const sid = (await api(s.url, "POST", "/api/v1/sessions", { client_id: "crash-in-tool" }))
        .body.session_id;
      const taskId = (
        await api(s.url, "POST", `/api/v1/sessions/${sid}/messages`, {
          content: "launch apollo",
          run_agent: true,
        })
      ).body.task_id as string;
      const a = await pending(s.url, taskId);
      await api(s.url, "POST", `/api/v1/approvals/${a.id}`, { decision: "approve" });
      await waitFor(
        async () => (existsSync(startedFile) ? true : undefined),
        "the approved tool to start",
      );
      await s.kill();

      s = await start();
      const task = await waitFor(async () => {
        const t = (await api(s.url, "GET", `/api/v1/tasks/${taskId}`)).body;
        return t.status === "complete" ? t : undefined;
      }, "the task to complete after restart");
      assert.equal(task.result, "The launch was interrupted.");
      assert.equal(readFileSync(startedFile, "utf8"), "started\n", "started once, never again");
      const toolMsg = h.llm.requests[1]!.messages.find((m: any) => m.role === "tool");
      assert.match(toolMsg.content, /not run a second time/);
      await s.kill();
    });
  });
}
