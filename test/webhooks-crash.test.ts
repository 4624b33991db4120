// Event deliveries survive kill -9: `switchyard serve` emits events while the receiver
// answers 503, is killed with SIGKILL, and a new process on the same database delivers
// every one of them from the outbox, each with its own stable webhook-id, signed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { crashHarness } from "./support/crash-harness.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { callApi } from "./support/serve-process.ts";

const KEY = "webhooks-crash-key-0123456789";
const SECRET = "crash-test-signing-secret";

const api = (url: string, method: string, path: string, body?: unknown) =>
  callApi(url, KEY, method, path, body);

for (const backend of ALL_BACKENDS) {
  describe(`event deliveries across kill -9 on ${backend}`, runsOn(backend), () => {
    const h = crashHarness(backend, {
      apiKey: KEY,
      env: {
        SWITCHYARD_SECRET_KEY: "crash-secret-key-0123456789",
        SWITCHYARD_DELIVERY_SCHEDULE_SECONDS: "0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5",
      },
    });
    const start = () => h.start();

    test("pending deliveries are all delivered after a restart", async () => {
      let up = false;
      h.hook.setResponder(() => (up ? undefined : { status: 503 }));
      let s = await start();
      const reg = await api(s.url, "POST", "/api/v1/webhooks", {
        url: `${h.hook.url}/events`,
        events: ["task.sync"],
        secret: SECRET,
      });
      assert.equal(reg.status, 201);
      const emits = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          api(s.url, "POST", "/api/v1/events", { event: "task.sync", payload: { i } }),
        ),
      );
      const ids = emits.map((e) => {
        assert.equal(e.body.deliveries[0].status, "failed");
        return e.body.deliveries[0].delivery_id as string;
      });
      const failed = (await api(s.url, "GET", "/api/v1/deliveries?status=failed")).body;
      assert.equal(failed.length, 6);
      await s.kill();

      up = true;
      const downRequests = h.hook.requests.length;
      s = await start();
      const deadline = Date.now() + 20_000;
      for (const id of ids) {
        for (;;) {
          const d = (await api(s.url, "GET", `/api/v1/deliveries/${id}`)).body;
          if (d.status === "delivered") {
            // Failed inline, maybe retried (still down) before the kill, delivered after it.
            assert.ok(d.attempts >= 2, `attempts ${d.attempts}`);
            break;
          }
          assert.ok(Date.now() < deadline, `delivery ${id} still ${d.status}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const delivered = h.hook.requests.slice(downRequests);
      assert.deepEqual(delivered.map((r) => r.headers["webhook-id"]).sort(), [...ids].sort());
      for (const r of delivered) {
        new Webhook(SECRET, { format: "raw" }).verify(r.body, r.headers as Record<string, string>);
      }
      assert.deepEqual(delivered.map((r) => r.json.data.i).sort(), [0, 1, 2, 3, 4, 5]);
      await s.kill();
    });
  });
}
