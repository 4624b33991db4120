/**
 * The internal dispatcher's duplicate check: a delivery handed over again with the same
 * delivery id (the outbox resending after a lost outcome, or two copies racing) adds its
 * message once; another delivery id adds another.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { DispatchTask } from "../src/sdk/dispatch.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(`internal dispatcher redelivery (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
    });
    after(() => t.close());

    const messagesOf = async (sid: string) =>
      ((await t.api("GET", `/api/v1/sessions/${sid}/messages`)).body as any[]).map(
        (m) => m.content,
      );

    test("the outbox resending a delivered row (same delivery id) adds the message once", async () => {
      const target = await t.session(`inbox-resend-${backend}`);
      const sid = await t.session(`worker-resend-${backend}`);
      t.llm.reset();
      t.llm.enqueue({ text: "once only" });
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "report",
        run_agent: true,
        dispatch_config: { type: "internal", session_id: target },
      });
      const taskId = r.body.task_id as string;
      const row = async () =>
        (await t.api("GET", `/api/v1/deliveries?task_id=${taskId}`)).body.find(
          (d: any) => d.target_type === "internal",
        );
      let d: any;
      for (let i = 0; i < 500 && d?.status !== "delivered"; i++) {
        await new Promise((res) => setTimeout(res, 10));
        d = await row();
      }
      assert.equal(d?.status, "delivered");
      // As after a crash between the send and the record of its outcome: the row is due again.
      await t.app.store.db.kysely
        .updateTable("deliveries")
        .set({ status: "failed", next_attempt_at: Date.now(), delivered_at: null })
        .where("id", "=", d.id)
        .execute();
      t.app.deliveryWorker.poke();
      for (let i = 0; i < 500 && !(d.status === "delivered" && d.attempts === 2); i++) {
        await new Promise((res) => setTimeout(res, 10));
        d = await row();
      }
      assert.equal(d.attempts, 2, "sent a second time");
      assert.equal(d.status, "delivered");
      assert.deepEqual(await messagesOf(target), [`[Task ${taskId} completed]\n\nonce only`]);
    });

    test("racing copies with one delivery id add one message; another id adds another", async () => {
      const target = await t.session(`inbox-race-${backend}`);
      const internal = t.app.dispatchers.get("internal");
      const task: DispatchTask = {
        id: "task-race",
        session_id: "elsewhere",
        bot_id: "default",
        status: "complete",
        prompt: "p",
        result: "r",
        error: null,
        dispatch_type: "internal",
        dispatch_config: { type: "internal", session_id: target },
        callback_config: null,
      };
      const signal = new AbortController().signal;
      await Promise.all(
        Array.from({ length: 5 }, () =>
          internal.deliver(task, "raced", { deliveryId: "delivery-a", signal }),
        ),
      );
      await internal.deliver(task, "raced", { deliveryId: "delivery-a", signal });
      assert.deepEqual(await messagesOf(target), ["[Task task-race completed]\n\nraced"]);
      await internal.deliver(task, "raced", { deliveryId: "delivery-b", signal });
      assert.equal((await messagesOf(target)).length, 2, "a different delivery is a new message");
    });
  });
}
