/**
 * The job-run and per-instance Prometheus series (issue 14, src/telemetry/prometheus.ts)
 * as `GET /metrics` shows them, over real HTTP: a job run now (fired, completed), a
 * disabled job run now (skipped, reason `disabled`), a named lease held, a turn hanging in
 * the fake LLM (a running task), this instance's info and heartbeat. On SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { after, before, describe, test } from "node:test";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

/** The value of the sample `name{…}` whose labels include all of `labels`, or undefined. */
function value(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map(
      [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

async function scrape(t: TestApp): Promise<string> {
  const res = await fetch(`${t.url}/metrics`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  assert.equal(res.status, 200);
  return res.text();
}

/** Scrapes until `ok(text)` holds (metrics read the database; a run settles just after). */
async function scrapeUntil(t: TestApp, ok: (text: string) => boolean): Promise<string> {
  let text = "";
  for (let i = 0; i < 100; i++) {
    text = await scrape(t);
    if (ok(text)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  return text;
}

for (const backend of ALL_BACKENDS) {
  describe(`job and instance metrics (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend, tuning: { instanceHeartbeatMs: 200 } });
    });
    after(async () => {
      await t?.close();
    });

    test("job runs: fired and completed, skipped by reason, last fired time", async () => {
      const started = Date.now();
      const job = (
        await t.api("POST", "/api/v1/jobs", {
          name: "metered",
          prompt: "tick",
          schedule: { every_seconds: 3600 },
          target: { bot_id: "default", client_id: "metrics:job" },
        })
      ).body;
      const off = (
        await t.api("POST", "/api/v1/jobs", {
          name: "metered-off",
          prompt: "tock",
          enabled: false,
          schedule: { every_seconds: 3600 },
          target: { bot_id: "default", client_id: "metrics:off" },
        })
      ).body;
      const run = await t.api("POST", `/api/v1/jobs/${job.id}/run`);
      assert.equal(run.status, 201, JSON.stringify(run.body));
      assert.equal((await t.waitForTask(run.body.task_id)).status, "complete");
      const skipped = await t.api("POST", `/api/v1/jobs/${off.id}/run`);
      assert.equal(skipped.body.status, "skipped");

      const text = await scrapeUntil(
        t,
        (x) => value(x, "switchyard_job_runs", { job_id: job.id, status: "complete" }) === 1,
      );
      assert.equal(
        value(text, "switchyard_job_runs_total", { job_id: job.id, status: "queued" }),
        1,
      );
      assert.equal(
        value(text, "switchyard_job_runs_total", { job_id: off.id, status: "skipped" }),
        1,
      );
      assert.equal(
        value(text, "switchyard_job_runs_total", { job_id: off.id, status: "queued" }),
        undefined,
      );
      assert.equal(
        value(text, "switchyard_job_runs_skipped_total", { job_id: off.id, reason: "disabled" }),
        1,
      );
      assert.equal(value(text, "switchyard_job_runs", { job_id: job.id, status: "complete" }), 1);
      assert.equal(value(text, "switchyard_job_runs", { job_id: off.id, status: "skipped" }), 1);
      const last = value(text, "switchyard_job_last_run_timestamp_seconds", { job_id: job.id });
      assert.ok(
        last !== undefined && last * 1000 >= started - 1000 && last * 1000 <= Date.now(),
        String(last),
      );
      assert.match(text, /# TYPE switchyard_job_runs_total counter/);
      assert.match(text, /# TYPE switchyard_job_last_run_timestamp_seconds gauge/);
    });

    test("this instance: info, running tasks, leases held, heartbeat age, live instances", async () => {
      const me = { instance_id: t.app.owner };
      const idle = await scrape(t);
      assert.equal(
        value(idle, "switchyard_instance_info", { ...me, version: "0.1.0", hostname: hostname() }),
        1,
      );
      assert.equal(value(idle, "switchyard_instance_tasks_running", me), 0);
      assert.equal(value(idle, "switchyard_instance_leases_held", me), 0);
      assert.ok((value(idle, "switchyard_instances_live") ?? 0) >= 1);
      const age = value(idle, "switchyard_instance_heartbeat_age_seconds", me);
      assert.ok(age !== undefined && age >= 0 && age < 5, `heartbeat age ${age}`);

      // A named lease held (as a poller or a singleton process holds one) and a turn running.
      const stop = new AbortController();
      let holding!: () => void;
      const held = new Promise<void>((r) => {
        holding = r;
      });
      const run = t.app.leases.run(
        "metrics-poller",
        async (signal) => {
          holding();
          await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
        },
        { signal: stop.signal },
      );
      await held;
      t.llm.reset();
      t.llm.enqueue({ hang: true });
      const sessionId = await t.session("metrics:hang");
      const m = await t.api("POST", `/api/v1/sessions/${sessionId}/messages`, {
        content: "wait",
        run_agent: true,
      });
      await t.llm.waitForRequests(1);
      const busy = await scrape(t);
      assert.equal(value(busy, "switchyard_instance_tasks_running", me), 1);
      assert.equal(value(busy, "switchyard_instance_leases_held", me), 1);
      assert.equal(
        value(busy, "switchyard_instance_lease_held", { ...me, lease: "metrics-poller" }),
        1,
      );

      await t.api("POST", `/api/v1/tasks/${m.body.task_id}/cancel`);
      stop.abort();
      await run;
      const after = await scrapeUntil(
        t,
        (x) =>
          value(x, "switchyard_instance_tasks_running", me) === 0 &&
          value(x, "switchyard_instance_leases_held", me) === 0,
      );
      assert.equal(value(after, "switchyard_instance_tasks_running", me), 0);
      assert.equal(value(after, "switchyard_instance_leases_held", me), 0);
      assert.equal(
        value(after, "switchyard_instance_lease_held", { ...me, lease: "metrics-poller" }),
        undefined,
      );
    });
  });
}
