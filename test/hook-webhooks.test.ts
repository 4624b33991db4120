/**
 * Hook webhooks through the outbox: every lifecycle event of a turn becomes one delivery
 * per HOOK_WEBHOOK_URLS entry, retried on the outbox schedule with the same webhook-id and
 * signed by the one signing module; a dead one raises no `error` event; rows queued when
 * the server stops are written before the database closes.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn } from "./support/db.ts";

const SECRET = "hook-secret-0123";

/** Polls `fn` until it returns a truthy value; fails after `ms`. */
async function until<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 15_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const backend of ALL_BACKENDS) {
  describe(`hook webhooks as outbox deliveries on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let flaky: CaptureServer;
    let down: CaptureServer;
    let events: CaptureServer;

    before(async () => {
      flaky = await startCaptureServer();
      down = await startCaptureServer();
      events = await startCaptureServer();
      // The first try of each (event, task) fails with 500, the next one succeeds.
      const seen = new Set<string>();
      flaky.setResponder((req) => {
        const key = `${req.json?.event}|${req.json?.context?.correlation_id}`;
        if (seen.has(key)) return { status: 200 };
        seen.add(key);
        return { status: 500 };
      });
      down.setResponder(() => ({ status: 500 }));
      t = await startTestApp({
        backend,
        env: {
          HOOK_WEBHOOK_URLS: `${flaky.url}/hooks, ${down.url}/down`,
          HOOK_WEBHOOK_SECRET: SECRET,
        },
        tuning: { pollMs: 50, deliveryScheduleMs: [30] },
      });
    });
    after(async () => {
      await t.close();
      await Promise.all([flaky.close(), down.close(), events.close()]);
    });

    test("a turn's hook events are retried after a 500 with the same webhook-id and delivered, signed; listed under target_type=hook_webhook", async () => {
      const sub = await t.api("POST", "/api/v1/webhooks", {
        url: `${events.url}/events`,
        events: ["error"],
      });
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      t.llm.reset();
      t.llm.enqueue({ text: "Hello from the hooks test." });
      const sid = await t.session(`hooks-${backend}`);
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "hi",
        run_agent: true,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const taskId = r.body.task_id as string;
      assert.equal((await t.waitForTask(taskId)).status, "complete");

      const mine = (event: string) =>
        flaky.requests.filter(
          (q) => q.json?.event === event && q.json.context?.correlation_id === taskId,
        );
      for (const event of ["before_llm_call", "after_response", "after_task_complete"]) {
        const [first, second] = await until(`${event} twice`, () => {
          const got = mine(event);
          return got.length >= 2 ? got : undefined;
        });
        assert.equal(first!.path, "/hooks");
        // The same delivery, tried twice: same id and bytes (timestamp = when it fired).
        assert.ok(first!.headers["webhook-id"], "webhook-id sent");
        assert.equal(second!.headers["webhook-id"], first!.headers["webhook-id"]);
        assert.equal(second!.body, first!.body);
        assert.deepEqual(Object.keys(first!.json).sort(), [
          "context",
          "data",
          "event",
          "timestamp",
        ]);
        assert.deepEqual(Object.keys(first!.json.context).sort(), [
          "bot_id",
          "channel_id",
          "client_id",
          "correlation_id",
          "session_id",
        ]);
        assert.equal(first!.json.context.session_id, sid);
        for (const q of [first!, second!]) {
          assert.equal(
            q.headers["x-ams-signature"],
            createHmac("sha256", SECRET).update(q.body).digest("hex"),
          );
          const wh = new Webhook(Buffer.from(SECRET, "utf8"), { format: "raw" });
          assert.doesNotThrow(() => wh.verify(q.body, q.headers as Record<string, string>));
        }
      }
      const done = mine("after_task_complete")[0]!.json;
      assert.deepEqual(done.data, { task_id: taskId, status: "complete" });

      const id = mine("after_response")[0]!.headers["webhook-id"] as string;
      const listed = await until("the delivery recorded as delivered", async () => {
        const list = await t.api("GET", "/api/v1/deliveries?target_type=hook_webhook&limit=500");
        assert.equal(list.status, 200);
        const d = list.body.find((x: any) => x.id === id);
        return d?.status === "delivered" ? { d, all: list.body } : undefined;
      });
      assert.equal(listed.d.target_type, "hook_webhook");
      assert.equal(listed.d.attempts, 2);
      assert.equal(listed.d.last_status, 200);
      assert.ok(listed.all.every((x: any) => x.target_type === "hook_webhook"));

      // The URL that always answers 500 got the same events; its deliveries die on the
      // schedule ([30 ms] = two attempts) without raising `error` events.
      const downIds = new Set(
        down.requests
          .filter((q) => q.json?.context?.correlation_id === taskId)
          .map((q) => q.headers["webhook-id"] as string),
      );
      assert.ok(downIds.size >= 3, "the failing URL was tried too");
      await until("the failing URL's deliveries dead", async () => {
        const dead = await t.api("GET", "/api/v1/deliveries?target_type=hook_webhook&status=dead");
        const ids = new Set(dead.body.map((x: any) => x.id));
        return [...downIds].every((i) => ids.has(i));
      });
      await t.app.events.drain();
      const errorEvents = await t.api("GET", "/api/v1/deliveries?target_type=event");
      assert.deepEqual(errorEvents.body, [], "no error event for a dead hook delivery");
      assert.equal(events.requests.length, 0);
    });
  });
}

describe("hook webhooks at shutdown", () => {
  test("events fired just before stop are written to the outbox before the database closes", async () => {
    const receiver = await startCaptureServer();
    receiver.setResponder(() => ({ status: 503 }));
    const db = await createTestDatabase("sqlite");
    const env = { HOOK_WEBHOOK_URLS: `${receiver.url}/hooks` };
    let t = await startTestApp({ keepDb: db, env, tuning: { pollMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++) {
        t.app.hooks.fire("after_response", {
          botId: "default",
          sessionId: "s-stop",
          clientId: null,
          correlationId: `stop-${i}`,
          extra: { i },
        });
      }
      await t.close();
      t = await startTestApp({ keepDb: db, env, tuning: { pollMs: 60_000 } });
      const list = await t.api("GET", "/api/v1/deliveries?target_type=hook_webhook");
      assert.equal(list.status, 200);
      assert.equal(list.body.length, 3);
      const one = await t.api("GET", `/api/v1/deliveries/${list.body[0].id}`);
      assert.equal(one.body.payload.event, "after_response");
      assert.equal(one.body.payload.context.session_id, "s-stop");
    } finally {
      await t.close();
      await receiver.close();
      await db.drop();
    }
  });
});
