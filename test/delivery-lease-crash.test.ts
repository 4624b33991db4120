// Issue 11 item 11: a kill -9 while a receiver holds a task result's delivery does not
// park the delivery for minutes. The lease covers one attempt (the per-try timeout plus a
// margin), so a restarted `switchyard serve` on the same database sends it again within
// seconds, with the same webhook-id, and logs that it resumed another owner's delivery.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crashHarness } from "./support/crash-harness.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { callApi, type ServerProcess } from "./support/serve-process.ts";
import { waitFor } from "./support/wait.ts";

const KEY = "lease-crash-key-0123456789";

const api = (url: string, method: string, path: string, body?: unknown) =>
  callApi(url, KEY, method, path, body);

for (const backend of ALL_BACKENDS) {
  describe(`a delivery held by its receiver across kill -9 on ${backend}`, runsOn(backend), () => {
    const h = crashHarness(backend, { apiKey: KEY });
    const start = () => h.start();

    test("the restarted server sends it again within 30 s and logs the resumption", async () => {
      // The first request is held (never answered while the server lives); the next is taken.
      h.hook.setResponder((_r, i) => (i === 0 ? { status: 200, delayMs: 600_000 } : undefined));
      let s: ServerProcess = await start();
      const sid = (await api(s.url, "POST", "/api/v1/sessions", { client_id: "held" })).body
        .session_id;
      const inj = await api(s.url, "POST", `/api/v1/sessions/${sid}/messages`, {
        content: "hold me",
        run_agent: true,
        dispatch_config: { type: "webhook", url: `${h.hook.url}/result` },
      });
      assert.equal(inj.status, 201);
      const [first] = await h.hook.waitFor(1, 30_000);
      assert.equal(first!.json.task_id, inj.body.task_id);
      await s.kill();

      s = await start();
      const restarted = Date.now();
      const got = await h.hook.waitFor(2, 30_000);
      const again = got[1]!;
      assert.equal(again.json.task_id, inj.body.task_id);
      assert.equal(again.headers["webhook-id"], first!.headers["webhook-id"], "same delivery id");
      assert.ok(Date.now() - restarted < 30_000);

      // The claim that resumed it said so, naming the delivery and the previous owner.
      const line = await waitFor(
        () =>
          s
            .output()
            .split("\n")
            .find((l) => l.includes("delivery resumed")),
        "the 'delivery resumed' log line",
        5000,
      );
      assert.match(line, new RegExp(String(first!.headers["webhook-id"])));
      assert.match(line, /previous_owner/);
      assert.doesNotMatch(line, new RegExp(KEY));
      const d = (await api(s.url, "GET", `/api/v1/deliveries/${first!.headers["webhook-id"]}`))
        .body;
      assert.ok(d.attempts >= 2, "the crashed attempt is counted");
      await s.kill();
    });
  });
}
