/**
 * The dispatcher contract as an integration sees it (src/sdk/dispatch.ts): `deliver` gets
 * the task from the delivery row (as it was when the task finished, its real error when it
 * failed), the stable delivery id and the lease's abort signal, still live.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { tempDir } from "./support/db.ts";

const PROBE_SETUP = `export default { env_vars: [{ key: "PROBE_URL", required: true }] };\n`;
// Reports what deliver() received to PROBE_URL through the server's one HTTP client.
const PROBE_DISPATCHER = `
export default (ctx) => ({
  async deliver(task, result, opts) {
    const r = await ctx.http.postJson(ctx.settings.PROBE_URL, {
      task, result, delivery_id: opts.deliveryId,
      signal_is_abort_signal: opts.signal instanceof AbortSignal,
      signal_aborted: opts.signal.aborted,
    }, { signal: opts.signal });
    const failure = ctx.errors.fromResult(r, "probe");
    if (failure) throw failure;
  },
  async postMessage() { return false; },
});
`;

describe("dispatcher contract", () => {
  const dir = tempDir("switchyard-dispatch-contract-");
  let t: TestApp;
  let probe: CaptureServer;

  before(async () => {
    probe = await startCaptureServer();
    mkdirSync(join(dir.path, "probe"), { recursive: true });
    writeFileSync(join(dir.path, "probe", "setup.ts"), PROBE_SETUP);
    writeFileSync(join(dir.path, "probe", "dispatcher.ts"), PROBE_DISPATCHER);
    t = await startTestApp({
      env: { INTEGRATION_DIRS: dir.path, PROBE_URL: `${probe.url}/probe` },
    });
  });
  after(async () => {
    await t.close();
    await probe.close();
    dir.remove();
  });

  async function run(clientId: string, content: string) {
    const sid = await t.session(clientId, { dispatch_config: { type: "probe", room: "r1" } });
    const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
      content,
      run_agent: true,
    });
    assert.equal(r.status, 201);
    const task = await t.waitForTask(r.body.task_id);
    for (let i = 0; i < 200; i++) {
      const got = probe.requests.find((x) => x.json?.task?.id === task.id);
      if (got) return { sid, task, got: got.json };
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error(`no delivery reached the probe for task ${task.id}`);
  }

  test("a completed task: deliver() gets the task fields, the result, the delivery id and a live lease signal", async () => {
    t.llm.reset();
    t.llm.enqueue({ text: "the answer" });
    const { sid, task, got } = await run("contract-ok", "question one");
    assert.equal(task.status, "complete");
    assert.deepEqual(got.task, {
      id: task.id,
      session_id: sid,
      bot_id: "default",
      status: "complete",
      prompt: "question one",
      result: "the answer",
      error: null,
      dispatch_type: "probe",
      dispatch_config: { type: "probe", room: "r1" },
      callback_config: null,
    });
    assert.equal(got.result, "the answer");
    const deliveries = await t.api(
      "GET",
      `/api/v1/deliveries?task_id=${task.id}&target_type=probe`,
    );
    assert.equal(deliveries.body.length, 1);
    assert.equal(deliveries.body[0].id, got.delivery_id);
    assert.equal(got.signal_is_abort_signal, true);
    assert.equal(got.signal_aborted, false);
  });

  test("a failed task: deliver() gets status failed and the task's own error", async () => {
    t.llm.reset();
    t.llm.enqueue({ status: 400, body: { error: { message: "bad [request]" } } });
    const { task, got } = await run("contract-failed", "question two");
    assert.equal(task.status, "failed");
    assert.equal(got.task.status, "failed");
    assert.equal(got.task.result, null);
    assert.equal(got.task.error, task.error, "the error as the task stored it");
    assert.equal(got.result, `[Error: ${task.error}]`);
  });
});

describe("dispatcher contract: the lease signal", () => {
  const dir = tempDir("switchyard-dispatch-lease-");
  let t: TestApp;
  let probe: CaptureServer;

  before(async () => {
    probe = await startCaptureServer();
    // The receiver never answers within the test: only the lease signal can end the send.
    probe.setResponder(() => ({ status: 200, delayMs: 120_000 }));
    mkdirSync(join(dir.path, "probe"), { recursive: true });
    writeFileSync(join(dir.path, "probe", "setup.ts"), PROBE_SETUP);
    writeFileSync(join(dir.path, "probe", "dispatcher.ts"), PROBE_DISPATCHER);
    t = await startTestApp({
      env: { INTEGRATION_DIRS: dir.path, PROBE_URL: `${probe.url}/slow` },
      // A 2 s delivery lease: the signal fires at 1.8 s. The client's own timeout is far later.
      tuning: { deliveryLeaseMs: 2000, httpTimeoutMs: 120_000, deliveryScheduleMs: [60_000] },
    });
  });
  after(async () => {
    await probe.close();
    await t.close();
    dir.remove();
  });

  test("a send still running near the lease's end is aborted: one request, the attempt recorded as failed", async () => {
    t.llm.reset();
    t.llm.enqueue({ text: "slow answer" });
    const sid = await t.session("contract-lease", { dispatch_config: { type: "probe" } });
    const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
      content: "question three",
      run_agent: true,
    });
    const task = await t.waitForTask(r.body.task_id);
    assert.equal(task.status, "complete");
    let delivery: any;
    for (let i = 0; i < 400 && !delivery; i++) {
      const list = await t.api("GET", `/api/v1/deliveries?task_id=${task.id}&target_type=probe`);
      const d = list.body[0];
      if (d && d.attempts >= 1 && d.status === "failed") delivery = d;
      else await new Promise((res) => setTimeout(res, 25));
    }
    assert.ok(
      delivery,
      "the attempt ended by the lease signal within 10 s (the receiver holds it 120 s)",
    );
    assert.equal(delivery.attempts, 1);
    assert.match(delivery.last_error, /aborted/);
    assert.equal(probe.requests.filter((x) => x.path === "/slow").length, 1, "no overlapping send");
  });
});
