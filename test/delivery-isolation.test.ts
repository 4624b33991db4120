// Issue 11 item 12: one unresponsive receiver does not stall every delivery. Over real
// HTTP on 127.0.0.1: ~40 event deliveries queued for a subscriber that never answers do
// not hold back a task result for a healthy receiver (claims go round robin across
// destinations, each destination capped); a destination whose attempts keep getting no
// answer is parked by its circuit breaker, and the API and /metrics say so; and
// POST /api/v1/events answers in bounded time when a subscriber hangs, with that
// subscriber's delivery pending.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

/** Polls `fn` every 50 ms until it returns a value; fails after `ms`. */
async function until<T>(fn: () => Promise<T | undefined>, what: string, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A capture server that holds every request without answering (until it is closed). */
async function hangingServer(): Promise<CaptureServer> {
  const s = await startCaptureServer();
  s.setResponder(() => ({ status: 200, delayMs: 600_000 }));
  return s;
}

/** Writes `n` task.sync event deliveries for the current subscribers, as a commit would. */
async function queueEvents(t: TestApp, n: number): Promise<void> {
  await t.app.webhooks.cached();
  for (let i = 0; i < n; i++) {
    await t.app.store.transaction((tx) => t.app.events.queueInTransaction(tx, "task.sync", { i }));
  }
  t.app.deliveryWorker.poke();
}

for (const backend of ALL_BACKENDS) {
  describe(`delivery isolation on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let hanging: CaptureServer;
    let healthy: CaptureServer;

    before(async () => {
      hanging = await hangingServer();
      healthy = await startCaptureServer();
      // Production lease and timeouts: a hanging receiver holds a send for 15 s.
      t = await startTestApp({ backend });
    });
    after(async () => {
      await hanging.close();
      await healthy.close();
      await t.close();
    });

    test("40 deliveries to a hanging subscriber do not hold back a healthy receiver's task result", async () => {
      const reg = await t.api("POST", "/api/v1/webhooks", {
        url: `${hanging.url}/events`,
        events: ["task.sync"],
      });
      assert.equal(reg.status, 201);
      await queueEvents(t, 40);
      await hanging.waitFor(1, 10_000);

      const sid = await t.session("isolation-healthy", {
        dispatch_config: { type: "webhook", url: `${healthy.url}/result` },
      });
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "hello",
        run_agent: true,
      });
      assert.equal(r.status, 201);
      // Before: 16 slots held ~45 s each by the hanging subscriber's rows (over 40 s here).
      const [got] = await healthy.waitFor(1, 10_000);
      assert.equal(got!.json.task_id, r.body.task_id);
      // The hanging destination never has more than its cap (4) in flight.
      assert.ok(hanging.requests.length <= 4, `${hanging.requests.length} sends in flight`);
      await t.api("DELETE", `/api/v1/webhooks/${reg.body.webhook.id}`);
    });

    test("POST /api/v1/events answers in bounded time: the healthy subscriber delivered, the hanging one pending", async () => {
      const a = await t.api("POST", "/api/v1/webhooks", {
        url: `${hanging.url}/emit`,
        events: ["roadmap.exported"],
      });
      const b = await t.api("POST", "/api/v1/webhooks", {
        url: `${healthy.url}/emit`,
        events: ["roadmap.exported"],
      });
      // Before: the answer waited for the hanging subscriber (15 s × 3 tries).
      const res = await fetch(`${t.url}/api/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ event: "roadmap.exported", payload: { v: 1 } }),
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(res.status, 200);
      const out = (await res.json()) as any;
      const byHook = new Map(out.deliveries.map((d: any) => [d.webhook_id, d]));
      assert.equal((byHook.get(b.body.webhook.id) as any).status, "delivered");
      assert.equal((byHook.get(a.body.webhook.id) as any).status, "pending");
      assert.deepEqual([out.sent, out.pending], [1, 1]);
      await t.api("DELETE", `/api/v1/webhooks/${a.body.webhook.id}`);
      await t.api("DELETE", `/api/v1/webhooks/${b.body.webhook.id}`);
    });
  });

  describe(`circuit breaker on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let hanging: CaptureServer;

    before(async () => {
      hanging = await hangingServer();
      // A 1.5 s lease: each attempt to the hanging receiver ends at ~1.35 s without an answer.
      t = await startTestApp({
        backend,
        tuning: { deliveryLeaseMs: 1500, deliveryScheduleMs: [100, 100, 100, 100, 100] },
      });
    });
    after(async () => {
      await hanging.close();
      await t.close();
    });

    test("5 attempts in a row without an answer park the destination; the API and /metrics say so", async () => {
      const reg = await t.api("POST", "/api/v1/webhooks", {
        url: `${hanging.url}/parked`,
        events: ["task.sync"],
      });
      assert.equal(reg.status, 201);
      await queueEvents(t, 12);
      const parked = await until(
        async () => {
          const list = (await t.api("GET", "/api/v1/deliveries/destinations")).body as any[];
          return list.find((d) => d.state === "open");
        },
        "the hanging destination to be parked",
        20_000,
      );
      assert.match(parked.destination, new RegExp(`^${hanging.url}#[0-9a-f]{8}$`));
      assert.ok(parked.consecutive_failures >= 5);
      assert.ok(Date.parse(parked.open_until) > Date.now());
      assert.match(parked.last_error, /aborted|timeout/);
      assert.ok(parked.waiting > 0, "its deliveries wait; none is lost");
      assert.equal(parked.times_opened, 1);

      // Listed deliveries name their destination, so a user finds the parked ones.
      const rows = (
        await t.api(
          "GET",
          `/api/v1/deliveries?destination=${encodeURIComponent(parked.destination)}`,
        )
      ).body as any[];
      assert.equal(rows.length, 12);

      const metrics = await (
        await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })
      ).text();
      assert.match(metrics, /^switchyard_delivery_destinations_parked 1$/m);
      assert.ok(
        metrics.includes(
          `switchyard_delivery_destination_open{destination="${parked.destination}",state="open"} 1`,
        ),
      );
    });
  });
}

for (const backend of ALL_BACKENDS) {
  describe(`a destination at its cap on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let healthy: CaptureServer;

    before(async () => {
      healthy = await startCaptureServer();
      // No fallback poll during the test: only the worker's own wake-ups can send the rest.
      t = await startTestApp({ backend, tuning: { pollMs: 600_000 } });
    });
    after(async () => {
      await healthy.close();
      await t.close();
    });

    test("more deliveries than the cap to one receiver go on as its sends end, not at the next poll", async () => {
      const reg = await t.api("POST", "/api/v1/webhooks", {
        url: `${healthy.url}/events`,
        events: ["task.sync"],
      });
      assert.equal(reg.status, 201);
      // 20 rows for one destination capped at 4: claimed 4 at a time.
      await queueEvents(t, 20);
      const got = await healthy.waitFor(20, 20_000);
      assert.equal(got.length, 20);
    });
  });
}
