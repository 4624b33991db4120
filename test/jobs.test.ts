/**
 * The scheduler (issue 14, docs/jobs.md), over real HTTP with the fake LLM and an injected
 * scheduler clock (no test waits for a real minute): cron in a time zone across a DST
 * change, interval, one-shot, run-now, missed slots after a stop under both policies,
 * overlap skip, an ended target, a disabled job, 422 naming the field, two instances on
 * one database firing each slot once, the jobs.ts sync, and the CLI.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { runClient } from "./support/cli-client.ts";
import { ALL_BACKENDS, type Backend, createTestDatabase, runsOn, tempDir } from "./support/db.ts";
import { startFakeLlm } from "./support/fake-llm.ts";

const MIN = 60_000;
const DAY = 86_400_000;
/** Saturday 2025-03-08 10:00 in New York (EST, UTC-5); DST starts Sunday 2025-03-09 02:00. */
const T0 = Date.parse("2025-03-08T15:00:00Z");

/** A clock the scheduler reads; tests move it. */
function clock(start = T0) {
  const c = {
    t: start,
    now: () => c.t,
    /** Moves the clock forward by `ms`; returns the new time. */
    forward: (ms: number) => {
      c.t += ms;
      return c.t;
    },
  };
  return c;
}

async function startWith(backend: Backend, c: { now: () => number }, extra = {}) {
  return startTestApp({
    backend,
    tuning: { schedulerNow: c.now, schedulerPollMs: 20, pollMs: 50 },
    ...extra,
  });
}

/** Polls a job's runs until `ok(runs)`; returns them (newest slot first). */
async function runsUntil(t: TestApp, id: string, ok: (runs: any[]) => boolean, what = "runs") {
  const until = Date.now() + 10_000;
  let last: any[] = [];
  while (Date.now() < until) {
    const r = await t.api("GET", `/api/v1/jobs/${id}/runs`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    last = r.body.items;
    if (ok(last)) return last;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`${what} not reached; last: ${JSON.stringify(last)}`);
}

async function createJob(t: TestApp, body: Record<string, unknown>) {
  const r = await t.api("POST", "/api/v1/jobs", { prompt: "tick", ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

for (const backend of ALL_BACKENDS) {
  describe(`jobs (${backend})`, runsOn(backend), () => {
    const c = clock();
    let t: TestApp;
    before(async () => {
      t = await startWith(backend, c);
    });
    after(() => t?.close());

    test("cron in a time zone: next_run_at in that zone across the DST change, then it fires", async () => {
      c.t = T0;
      const job = await createJob(t, {
        name: "ny-9am",
        schedule: { cron: "0 9 * * *", tz: "America/New_York" },
        target: { bot_id: "default", client_id: "jobs:cron" },
      });
      // 09:00 EDT on Sunday (after the spring-forward) is 13:00Z; Saturday's was 14:00Z.
      assert.equal(job.next_run_at, "2025-03-09T13:00:00.000Z");
      assert.deepEqual(job.next_runs.slice(0, 2), [
        "2025-03-09T13:00:00.000Z",
        "2025-03-10T13:00:00.000Z",
      ]);
      assert.equal(job.next_runs.length, 5);
      c.t = Date.parse("2025-03-09T13:00:00.300Z");
      const [run] = await runsUntil(t, job.id, (r) => r[0]?.status === "complete");
      assert.equal(run.scheduled_for, "2025-03-09T13:00:00.000Z");
      assert.equal(run.covers, 1);
      const task = await t.waitForTask(run.task_id);
      assert.equal(task.result, "echo: tick");
      const again = await t.api("GET", `/api/v1/jobs/${job.id}`);
      assert.equal(again.body.next_run_at, "2025-03-10T13:00:00.000Z");
      assert.equal((await t.api("DELETE", `/api/v1/jobs/${job.id}`)).status, 204);
    });

    test("interval: slots every N seconds from creation", async () => {
      // The clock only moves forward: a pass that read an older time must not see a new job due.
      const T = c.forward(DAY);
      const job = await createJob(t, {
        name: "every-minute",
        schedule: { every_seconds: 60 },
        target: { bot_id: "default", client_id: "jobs:interval" },
      });
      assert.equal(job.next_run_at, new Date(T + MIN).toISOString());
      c.t = T + MIN + 5;
      const [r1] = await runsUntil(t, job.id, (r) => r.length === 1);
      assert.equal(r1.scheduled_for, new Date(T + MIN).toISOString());
      c.t = T + 2 * MIN;
      const runs = await runsUntil(t, job.id, (r) => r.length === 2);
      assert.equal(runs[0].scheduled_for, new Date(T + 2 * MIN).toISOString());
      const now = (await t.api("GET", `/api/v1/jobs/${job.id}`)).body;
      assert.equal(now.next_run_at, new Date(T + 3 * MIN).toISOString());
      await t.api("DELETE", `/api/v1/jobs/${job.id}`);
    });

    test("one-shot fires once, then the job is disabled; a disabled job never fires", async () => {
      // The clock only moves forward: a pass that read an older time must not see a new job due.
      const T = c.forward(DAY);
      const at = new Date(T + 10_000).toISOString();
      const once = await createJob(t, {
        name: "once",
        schedule: { at },
        target: { bot_id: "default", client_id: "jobs:once" },
      });
      assert.equal(once.next_run_at, at);
      const off = await createJob(t, {
        name: "off",
        enabled: false,
        schedule: { every_seconds: 5 },
        target: { bot_id: "default", client_id: "jobs:off" },
      });
      assert.equal(off.next_run_at, null);
      c.t = T + 10_001;
      const [run] = await runsUntil(t, once.id, (r) => r.length === 1);
      assert.equal(run.scheduled_for, at);
      const job = (await t.api("GET", `/api/v1/jobs/${once.id}`)).body;
      assert.equal(job.enabled, false);
      assert.equal(job.next_run_at, null);
      // A witness that fires after the clock moved on proves later passes ran.
      c.t = T + 20 * MIN;
      const witness = await createJob(t, {
        name: "witness",
        schedule: { every_seconds: 1 },
        target: { bot_id: "default", client_id: "jobs:witness" },
      });
      c.t += 1000;
      await runsUntil(t, witness.id, (r) => r.length >= 1);
      assert.equal((await t.api("GET", `/api/v1/jobs/${once.id}/runs`)).body.items.length, 1);
      assert.equal((await t.api("GET", `/api/v1/jobs/${off.id}/runs`)).body.items.length, 0);
      for (const j of [once, off, witness]) await t.api("DELETE", `/api/v1/jobs/${j.id}`);
    });

    test("run now: a run for the slot now; next_run_at is not moved", async () => {
      // The clock only moves forward: a pass that read an older time must not see a new job due.
      const T = c.forward(DAY);
      const job = await createJob(t, {
        name: "manual",
        schedule: { every_seconds: 3600 },
        target: { bot_id: "default", client_id: "jobs:manual" },
      });
      c.t = T + 1234;
      const r = await t.api("POST", `/api/v1/jobs/${job.id}/run`);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.manual, true);
      assert.equal(r.body.scheduled_for, new Date(T + 1234).toISOString());
      assert.equal((await t.waitForTask(r.body.task_id)).status, "complete");
      const [run] = await runsUntil(t, job.id, (x) => x[0]?.status === "complete");
      assert.equal(run.id, r.body.id);
      const now = (await t.api("GET", `/api/v1/jobs/${job.id}`)).body;
      assert.equal(now.next_run_at, job.next_run_at);
      assert.equal((await t.api("POST", "/api/v1/jobs/nope/run")).status, 404);
      await t.api("DELETE", `/api/v1/jobs/${job.id}`);
    });

    test("overlap skip: while a run's turn hangs, the next slot is skipped with the reason", async () => {
      // The clock only moves forward: a pass that read an older time must not see a new job due.
      const T = c.forward(DAY);
      const sessionId = await t.session("jobs:overlap");
      const job = await createJob(t, {
        name: "slow",
        schedule: { every_seconds: 60 },
        target: sessionId,
      });
      t.llm.enqueue({ hang: true });
      c.t = T + MIN;
      const [first] = await runsUntil(t, job.id, (r) => r[0]?.status === "running");
      c.t = T + 2 * MIN;
      const runs = await runsUntil(t, job.id, (r) => r.length === 2);
      assert.equal(runs[0].status, "skipped");
      assert.equal(runs[0].reason, "overlap");
      assert.equal(runs[0].task_id, null);
      assert.equal(runs[1].id, first.id);
      assert.equal(runs[1].status, "running");
      await t.api("POST", `/api/v1/tasks/${first.task_id}/cancel`);
      await t.api("DELETE", `/api/v1/jobs/${job.id}`);
    });

    test("an ended target session: the firing is skipped with reason target_ended", async () => {
      // The clock only moves forward: a pass that read an older time must not see a new job due.
      const T = c.forward(DAY);
      const sessionId = await t.session("jobs:ended");
      const job = await createJob(t, {
        name: "to-ended",
        schedule: { every_seconds: 60 },
        target: { session_id: sessionId },
      });
      assert.equal((await t.api("POST", `/api/v1/sessions/${sessionId}/end`)).status, 200);
      c.t = T + MIN;
      const [run] = await runsUntil(t, job.id, (r) => r.length === 1);
      assert.equal(run.status, "skipped");
      assert.equal(run.reason, "target_ended");
      await t.api("DELETE", `/api/v1/jobs/${job.id}`);
    });

    test("invalid cron or time zone: 422 naming the field", async () => {
      const base = { name: "bad", prompt: "x", target: { bot_id: "default", client_id: "c" } };
      const cron = await t.api("POST", "/api/v1/jobs", {
        ...base,
        schedule: { cron: "61 * * * *" },
      });
      assert.equal(cron.status, 422);
      assert.match(cron.body.detail, /schedule\.cron/);
      const fields = await t.api("POST", "/api/v1/jobs", { ...base, schedule: { cron: "* * *" } });
      assert.equal(fields.status, 422);
      assert.match(fields.body.detail, /schedule\.cron: must have 5 or 6 fields/);
      const tz = await t.api("POST", "/api/v1/jobs", {
        ...base,
        schedule: { cron: "0 9 * * *", tz: "Mars/Olympus" },
      });
      assert.equal(tz.status, 422);
      assert.match(tz.body.detail, /schedule\.tz/);
      const bot = await t.api("POST", "/api/v1/jobs", {
        ...base,
        schedule: { every_seconds: 1 },
        target: { bot_id: "ghost", client_id: "c" },
      });
      assert.deepEqual(bot, { status: 422, body: { detail: "Unknown bot: ghost" } });
      const shape = await t.api("POST", "/api/v1/jobs", {
        ...base,
        schedule: { every_seconds: 0 },
      });
      assert.equal(shape.status, 400);
      assert.equal((await t.api("GET", "/api/v1/jobs/nope")).status, 404);
    });

    test("preview: POST /jobs/preview gives a schedule's next runs from now, stores nothing; 422 naming the field", async () => {
      const before = (await t.api("GET", "/api/v1/jobs")).body.items.length;
      c.t = T0;
      const now = c.now();
      // 09:00 New York on weekdays: Monday 2025-03-10 is after the DST change (EDT, UTC-4).
      const cron = await t.api("POST", "/api/v1/jobs/preview", {
        schedule: { cron: "0 9 * * 1-5", tz: "America/New_York" },
      });
      assert.equal(cron.status, 200, JSON.stringify(cron.body));
      assert.deepEqual(cron.body.next_runs, [
        "2025-03-10T13:00:00.000Z",
        "2025-03-11T13:00:00.000Z",
        "2025-03-12T13:00:00.000Z",
        "2025-03-13T13:00:00.000Z",
        "2025-03-14T13:00:00.000Z",
      ]);
      const every = await t.api("POST", "/api/v1/jobs/preview", {
        schedule: { every_seconds: 60 },
      });
      assert.deepEqual(
        every.body.next_runs,
        [1, 2, 3, 4, 5].map((k) => new Date(now + k * MIN).toISOString()),
      );
      const at = await t.api("POST", "/api/v1/jobs/preview", {
        schedule: { at: "2030-01-01T09:00:00Z" },
      });
      assert.deepEqual(at.body.next_runs, ["2030-01-01T09:00:00.000Z"]);
      const bad = await t.api("POST", "/api/v1/jobs/preview", { schedule: { cron: "61 * * * *" } });
      assert.equal(bad.status, 422);
      assert.match(bad.body.detail, /^Invalid schedule\.cron: /);
      const tz = await t.api("POST", "/api/v1/jobs/preview", {
        schedule: { cron: "0 9 * * *", tz: "Mars/Olympus" },
      });
      assert.equal(tz.status, 422);
      assert.match(tz.body.detail, /^Invalid schedule\.tz: /);
      const shape = await t.api("POST", "/api/v1/jobs/preview", { schedule: { every_seconds: 0 } });
      assert.equal(shape.status, 400);
      assert.equal(
        (await t.api("GET", "/api/v1/jobs")).body.items.length,
        before,
        "nothing stored",
      );
      const { key: reader } = await t.app.store.apiKeys.create("preview-reader", ["jobs:read"]);
      const ok = await t.api(
        "POST",
        "/api/v1/jobs/preview",
        { schedule: { every_seconds: 5 } },
        { key: reader },
      );
      assert.equal(ok.status, 200, "jobs:read may preview");
      const { key: other } = await t.app.store.apiKeys.create("preview-other", ["tasks:read"]);
      const no = await t.api(
        "POST",
        "/api/v1/jobs/preview",
        { schedule: { every_seconds: 5 } },
        { key: other },
      );
      assert.equal(no.status, 403);
    });

    test("MCP: job_create, jobs_list, job_run, job_delete call the same service", async () => {
      const client = new Client({ name: "jobs-test", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${TEST_API_KEY}` } },
        }),
      );
      try {
        const call = async (name: string, args: Record<string, unknown> = {}) =>
          (await client.callTool({ name, arguments: args })) as any;
        const created = await call("job_create", {
          name: "mcp-job",
          prompt: "via mcp",
          schedule: { every_seconds: 3600 },
          target: { bot_id: "default", client_id: "jobs:mcp" },
        });
        assert.notEqual(created.isError, true, JSON.stringify(created.content));
        const id = created.structuredContent.id;
        const list = await call("jobs_list");
        assert.ok(list.structuredContent.items.some((j: any) => j.id === id));
        const run = await call("job_run", { job_id: id });
        assert.equal(run.structuredContent.manual, true);
        assert.equal((await t.waitForTask(run.structuredContent.task_id)).result, "echo: via mcp");
        const bad = await call("job_create", {
          name: "x",
          prompt: "x",
          schedule: { cron: "0 9 * * *", tz: "Nowhere/Land" },
          target: { bot_id: "default", client_id: "c" },
        });
        assert.equal(bad.isError, true);
        assert.match(bad.content[0].text, /schedule\.tz/);
        assert.equal((await call("job_delete", { job_id: id })).structuredContent.deleted, true);
        assert.match((await call("job_delete", { job_id: id })).content[0].text, /Job not found/);
      } finally {
        await client.close();
      }
    });

    test("scopes: jobs:read lists, writing needs jobs:write", async () => {
      const { key: k } = await t.app.store.apiKeys.create("jr", ["jobs:read"]);
      assert.equal((await t.api("GET", "/api/v1/jobs", undefined, { key: k })).status, 200);
      const w = await t.api(
        "POST",
        "/api/v1/jobs",
        { name: "x", prompt: "x", schedule: { every_seconds: 1 }, target: "s" },
        { key: k },
      );
      assert.equal(w.status, 403);
    });
  });

  describe(`jobs after downtime (${backend})`, runsOn(backend), () => {
    test("missed slots: run_once fires one run covering them, skip records one skipped run", async () => {
      const c = clock();
      const db = await createTestDatabase(backend);
      const llm = await startFakeLlm();
      try {
        const a = await startWith(backend, c, { keepDb: db, llm });
        let once: any;
        let skip: any;
        try {
          once = await createJob(a, {
            name: "catch-up",
            missed: "run_once",
            schedule: { every_seconds: 60 },
            target: { bot_id: "default", client_id: "jobs:missed-once" },
          });
          skip = await createJob(a, {
            name: "no-catch-up",
            missed: "skip",
            schedule: { every_seconds: 60 },
            target: { bot_id: "default", client_id: "jobs:missed-skip" },
          });
        } finally {
          await a.close();
        }
        c.t = T0 + 5 * MIN + 1000; // slots T0+1…5 min were missed while nothing ran
        const b = await startWith(backend, c, { keepDb: db, llm });
        try {
          const [r] = await runsUntil(b, once.id, (x) => x[0]?.status === "complete");
          assert.equal(r.covers, 5);
          assert.equal(r.scheduled_for, new Date(T0 + 5 * MIN).toISOString());
          const s = await runsUntil(b, skip.id, (x) => x.length === 1);
          assert.equal(s[0].status, "skipped");
          assert.equal(s[0].reason, "missed");
          assert.equal(s[0].covers, 5);
          for (const j of [once, skip]) {
            const now = (await b.api("GET", `/api/v1/jobs/${j.id}`)).body;
            assert.equal(now.next_run_at, new Date(T0 + 6 * MIN).toISOString());
            assert.equal((await b.api("GET", `/api/v1/jobs/${j.id}/runs`)).body.items.length, 1);
          }
        } finally {
          await b.close();
        }
      } finally {
        await llm.close();
        await db.drop();
      }
    });
  });

  describe(`jobs on two instances (${backend})`, runsOn(backend), () => {
    // Two apps in one process cannot share a SQLite file: node:sqlite waits for another
    // connection's write lock synchronously, blocking the event loop the holder needs to
    // commit. Several instances are a PostgreSQL deployment (DESIGN §1).
    const inProcess =
      backend === "sqlite"
        ? {
            skip: "two in-process apps cannot share a SQLite file (node:sqlite locks synchronously)",
          }
        : {};
    test(
      "two apps on one database with one clock: each slot fires exactly once",
      inProcess,
      async () => {
        const c = clock();
        const db = await createTestDatabase(backend);
        const llm = await startFakeLlm();
        // Long polls: the test pokes both loops at once, so both race for every slot.
        const tuning = { schedulerNow: c.now, schedulerPollMs: 60_000, pollMs: 50 };
        const a = await startTestApp({ backend, keepDb: db, llm, tuning });
        const b = await startTestApp({ backend, keepDb: db, llm, tuning });
        try {
          const job = await createJob(a, {
            name: "shared",
            overlap: "queue",
            schedule: { every_seconds: 60 },
            target: { bot_id: "default", client_id: "jobs:shared" },
          });
          const SLOTS = 6;
          for (let i = 1; i <= SLOTS; i++) {
            c.t = T0 + i * MIN;
            a.app.scheduler.poke();
            b.app.scheduler.poke();
            await runsUntil(a, job.id, (r) => r.length >= i && r.every((x: any) => x.task_id));
          }
          const runs = await runsUntil(b, job.id, (r) =>
            r.every((x: any) => x.status === "complete"),
          );
          assert.equal(runs.length, SLOTS);
          assert.equal(new Set(runs.map((r: any) => r.scheduled_for)).size, SLOTS);
          const tasks = (await a.api("GET", "/api/v1/tasks?client_id=jobs:shared&limit=200")).body;
          assert.equal(tasks.items.length, SLOTS, "one task per slot");
        } finally {
          await a.app.stop();
          await b.app.stop();
          await llm.close();
          await db.drop();
        }
      },
    );
  });

  describe(`jobs.ts sync (${backend})`, runsOn(backend), () => {
    test("declared jobs are created, a removed one disabled, a user job untouched", async () => {
      const c = clock();
      const db = await createTestDatabase(backend);
      const llm = await startFakeLlm();
      const dirs = [tempDir(), tempDir()];
      const write = (root: string, defs: unknown[]) => {
        mkdirSync(join(root, "cron-demo"), { recursive: true });
        writeFileSync(
          join(root, "cron-demo", "jobs.ts"),
          `import type { JobDefinition } from "switchyard";\nexport default ${JSON.stringify(defs)} satisfies JobDefinition[];\n`,
        );
      };
      const target = { bot_id: "default", client_id: "jobs:declared" };
      write(dirs[0]!.path, [
        { name: "daily", schedule: { cron: "0 9 * * *" }, target, prompt: "report" },
        { name: "gone", schedule: { every_seconds: 3600 }, target, prompt: "x" },
      ]);
      // The second start reads another folder of the same integration name (a module is
      // imported once per path in a process).
      write(dirs[1]!.path, [
        { name: "daily", schedule: { cron: "0 10 * * *" }, target, prompt: "report v2" },
      ]);
      try {
        const a = await startWith(backend, c, {
          keepDb: db,
          llm,
          env: { INTEGRATION_DIRS: dirs[0]!.path },
        });
        let declared: any[];
        let mine: any;
        try {
          declared = (await a.api("GET", "/api/v1/jobs?integration=cron-demo")).body.items;
          assert.deepEqual(declared.map((j: any) => [j.name, j.enabled]).sort(), [
            ["daily", true],
            ["gone", true],
          ]);
          mine = await createJob(a, { name: "gone", schedule: { every_seconds: 60 }, target });
        } finally {
          await a.close();
        }
        const b = await startWith(backend, c, {
          keepDb: db,
          llm,
          env: { INTEGRATION_DIRS: dirs[1]!.path },
        });
        try {
          const now = (await b.api("GET", "/api/v1/jobs?integration=cron-demo")).body.items;
          const byName = Object.fromEntries(now.map((j: any) => [j.name, j]));
          assert.equal(byName.daily.prompt, "report v2");
          assert.deepEqual(byName.daily.schedule, { cron: "0 10 * * *" });
          assert.equal(byName.daily.id, declared.find((j: any) => j.name === "daily").id);
          assert.equal(byName.gone.enabled, false);
          assert.equal(byName.gone.next_run_at, null);
          const user = (await b.api("GET", `/api/v1/jobs/${mine.id}`)).body;
          assert.equal(user.enabled, true);
          assert.equal(user.integration, null);
          assert.equal(user.updated_at, mine.updated_at);
          assert.equal(user.next_run_at, mine.next_run_at);
        } finally {
          await b.close();
        }
      } finally {
        await llm.close();
        await db.drop();
        for (const d of dirs) d.remove();
      }
    });
  });
}

/** Runs `switchyard jobs <args> --url <url>`; resolves at exit. */
function cli(url: string, args: string[]) {
  return runClient(["jobs", ...args, "--url", url]);
}

describe("switchyard jobs (CLI)", () => {
  let t: TestApp;
  before(async () => {
    t = await startWith("sqlite", clock());
  });
  after(() => t?.close());

  test("add, list, run, rm against a running server", async () => {
    const add = await cli(t.url, [
      "add",
      "--name",
      "cli-job",
      "--cron",
      "0 9 * * *",
      "--tz",
      "America/New_York",
      "--client",
      "jobs:cli",
      "--prompt",
      "from the cli",
    ]);
    assert.equal(add.code, 0, add.err);
    const id = add.out.split("\n")[0]!;
    assert.match(add.out, /next run: 2025-03-09T13:00:00.000Z/);
    const list = await cli(t.url, ["list"]);
    assert.equal(list.code, 0, list.err);
    assert.match(
      list.out,
      new RegExp(`${id}\\s+cli-job\\s+cron 0 9 \\* \\* \\* \\(America/New_York\\)`),
    );
    const run = await cli(t.url, ["run", id, "--json"]);
    assert.equal(run.code, 0, run.err);
    const r = JSON.parse(run.out);
    assert.equal(r.manual, true);
    assert.equal((await t.waitForTask(r.task_id)).result, "echo: from the cli");
    const bad = await cli(t.url, [
      "add",
      "--name",
      "x",
      "--cron",
      "* *",
      "--client",
      "c",
      "--prompt",
      "p",
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /schedule\.cron/);
    const rm = await cli(t.url, ["rm", id]);
    assert.equal(rm.code, 0, rm.err);
    assert.equal((await t.api("GET", `/api/v1/jobs/${id}`)).status, 404);
    const again = await cli(t.url, ["rm", id]);
    assert.equal(again.code, 1);
    assert.match(again.err, /Job not found/);
  });
});
