/**
 * The generic webhook chat adapter (integrations/webhook) and the adapter mechanism behind
 * it, over real HTTP on 127.0.0.1: signed messages in, signed replies out through the
 * outbox to a capture server, dedupe on webhook-id (also across a restart), retries, split,
 * `/new`, mentions and passive memory, the bot's own messages; on SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  directMessage,
  groupMessage,
  postWebhookMessage,
  standardSignature,
  WEBHOOK_ADAPTER_SECRET,
} from "./fixtures/webhook-adapter.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";

const TUNING = { deliveryScheduleMs: [50, 50, 50], minBackoffAfterThrottleMs: 50, pollMs: 50 };

/** POSTs a message to the adapter, signed unless told otherwise. */
const sendIn = (t: TestApp, payload: unknown, o?: Parameters<typeof postWebhookMessage>[2]) =>
  postWebhookMessage(t.url, payload, o);

/** Waits until the task's reply delivery is delivered (or dead), returns it. */
async function replyDelivered(t: TestApp, taskId: string): Promise<any> {
  await t.waitForTask(taskId);
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const list = (
      await t.api("GET", `/api/v1/deliveries?task_id=${taskId}&target_type=webhook-adapter`)
    ).body as any[];
    const reply = list.find((d) => d.status === "delivered" || d.status === "dead");
    if (reply && !list.some((d) => d.status === "pending")) return reply;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`reply of ${taskId} not delivered`);
}

/** The callback requests that carry text (replies and notices), checked for their signature. */
function signedReplies(cb: CaptureServer): any[] {
  return cb.requests.map((r) => {
    const id = r.headers["webhook-id"] as string;
    const ts = Number(r.headers["webhook-timestamp"]);
    assert.equal(
      r.headers["webhook-signature"],
      standardSignature(id, ts, r.body),
      "reply is signed",
    );
    return { ...r.json, webhook_id: id };
  });
}

for (const backend of ALL_BACKENDS) {
  describe(`webhook adapter (${backend})`, runsOn(backend), () => {
    let llm: FakeLlm;
    let cb: CaptureServer;
    let t: TestApp;
    const env = () => ({
      WEBHOOK_ADAPTER_SECRET,
      WEBHOOK_ADAPTER_CALLBACK_URL: `${cb.url}/chat-callback`,
      WEBHOOK_ADAPTER_MAX_LENGTH: "40",
    });

    before(async () => {
      llm = await startFakeLlm();
      cb = await startCaptureServer();
      t = await startTestApp({ backend, llm, env: env(), tuning: TUNING });
    });
    after(async () => {
      await t?.close();
      await cb?.close();
      await llm?.close();
    });

    const reset = () => {
      cb.requests.length = 0;
      cb.setResponder(() => undefined);
      llm.reset();
    };

    test("signature: a good one passes; wrong, missing and stale ones are refused and store nothing", async () => {
      reset();
      const convo = { ...directMessage, conversation: `sig-${randomUUID()}` };
      const bad = await sendIn(t, convo, { signature: "v1,AAAA" });
      assert.equal(bad.status, 401);
      const otherKey = `whsec_${Buffer.from("another-key-0123456789").toString("base64")}`;
      assert.equal((await sendIn(t, convo, { secret: otherKey })).status, 401);
      assert.equal((await sendIn(t, convo, { signature: null })).status, 401);
      const stale = await sendIn(t, convo, { ts: Math.floor(Date.now() / 1000) - 600 });
      assert.equal(stale.status, 401);
      const sessions = (await t.api("GET", `/api/v1/sessions?client_id=webhook-adapter`)).body;
      assert.ok(!JSON.stringify(sessions).includes(convo.conversation), "nothing stored");
      const ok = await sendIn(t, convo);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.status, "run");
      await replyDelivered(t, ok.body.task_id);
    });

    test("a message gets exactly one signed reply at the callback, as the user's words", async () => {
      reset();
      const msg = { ...directMessage, conversation: `one-${randomUUID()}`, text: "hi bot" };
      const r = await sendIn(t, msg);
      assert.equal(r.body.status, "run");
      await replyDelivered(t, r.body.task_id);
      const replies = signedReplies(cb);
      assert.equal(replies.length, 1);
      assert.deepEqual(replies[0], {
        conversation: msg.conversation,
        reply_to: r.id,
        text: "echo: hi bot",
        task_id: r.body.task_id,
        webhook_id: replies[0].webhook_id,
      });
      // The text reached the model as a user message, never as system text.
      const sent = llm.requests.at(-1)!.messages as Array<{ role: string; content: unknown }>;
      assert.ok(
        sent.some((m) => m.role === "user" && JSON.stringify(m.content).includes("hi bot")),
      );
      assert.ok(
        !sent.some((m) => m.role === "system" && JSON.stringify(m.content).includes("hi bot")),
      );
    });

    test("a retry of the same webhook-id runs one turn", async () => {
      reset();
      const msg = { ...directMessage, conversation: `dup-${randomUUID()}` };
      const first = await sendIn(t, msg);
      const again = await sendIn(t, msg, { id: first.id });
      assert.equal(again.status, 200);
      assert.equal(again.body.status, "duplicate");
      assert.equal(again.body.task_id, first.body.task_id);
      await replyDelivered(t, first.body.task_id);
      assert.equal(llm.requests.length, 1);
      assert.equal(signedReplies(cb).length, 1);
    });

    test("the callback answering 500 once still gives one reply, with one webhook-id", async () => {
      reset();
      cb.setResponder((_req, i) => (i === 0 ? { status: 500 } : undefined));
      const r = await sendIn(t, { ...directMessage, conversation: `c500-${randomUUID()}` });
      const d = await replyDelivered(t, r.body.task_id);
      assert.equal(d.status, "delivered");
      const replies = signedReplies(cb);
      assert.equal(replies.length, 2, "one failed try and one accepted");
      assert.equal(new Set(replies.map((x) => x.webhook_id)).size, 1, "the same webhook-id");
    });

    test("a long reply is split at the adapter's limit, parts in order with their own ids", async () => {
      reset();
      const words = Array.from({ length: 24 }, (_, i) => `word${i}`);
      llm.enqueue({ text: words.join(" ") });
      const r = await sendIn(t, { ...directMessage, conversation: `long-${randomUUID()}` });
      await replyDelivered(t, r.body.task_id);
      const replies = signedReplies(cb);
      assert.ok(replies.length > 1, "split");
      for (const x of replies) assert.ok(x.text.length <= 40, `part of ${x.text.length} chars`);
      assert.equal(replies.map((x) => x.text).join(" "), words.join(" "));
      const ids = replies.map((x) => x.webhook_id);
      assert.equal(new Set(ids).size, ids.length);
      assert.ok(ids.every((id, i) => id.endsWith(`-${i + 1}`)));
    });

    test("a failed task is answered with [Error: …], without secrets", async () => {
      reset();
      llm.enqueue({
        status: 400,
        body: { error: { message: "bad request token=sk-abcdefghijkl" } },
      });
      const r = await sendIn(t, { ...directMessage, conversation: `err-${randomUUID()}` });
      await replyDelivered(t, r.body.task_id);
      const [reply] = signedReplies(cb);
      assert.match(reply.text, /^\[Error: .+\]$/);
      assert.ok(!reply.text.includes("sk-abcdefghijkl"));
      assert.ok(!reply.text.includes("\n    at "));
    });

    test("/new ends the conversation's session and starts a fresh one", async () => {
      reset();
      const conversation = `new-${randomUUID()}`;
      const first = await sendIn(t, { ...directMessage, conversation });
      await replyDelivered(t, first.body.task_id);
      const fresh = await sendIn(t, { ...directMessage, conversation, text: "/new" });
      assert.equal(fresh.body.status, "new_session");
      assert.notEqual(fresh.body.session_id, first.body.session_id);
      const old = (await t.api("GET", `/api/v1/sessions/${first.body.session_id}`)).body;
      assert.ok(old.ended_at, "the old session is ended");
      const next = await sendIn(t, { ...directMessage, conversation, text: "again" });
      assert.equal(next.body.session_id, fresh.body.session_id);
      await replyDelivered(t, next.body.task_id);
      // The new session holds only the new message and its reply.
      const msgs = (await t.api("GET", `/api/v1/sessions/${fresh.body.session_id}/messages`)).body;
      const contents = (msgs.messages ?? msgs).map((m: any) => m.content);
      assert.ok(!contents.includes("hello there"));
      assert.ok(signedReplies(cb).some((x) => x.text === "Started a new session."));
    });

    test("a group message without a mention is ignored; with passive_memory it is stored without a turn", async () => {
      reset();
      const room = `room-${randomUUID()}`;
      const ignored = await sendIn(t, { ...groupMessage, conversation: room });
      assert.equal(ignored.body.status, "ignored");
      assert.equal(ignored.body.session_id, null);
      const mentioned = await sendIn(t, { ...groupMessage, conversation: room, mentioned: true });
      assert.equal(mentioned.body.status, "run");
      await replyDelivered(t, mentioned.body.task_id);
      const ch = await t.api("POST", "/api/v1/admin/channels", {
        integration: "webhook-adapter",
        channel: room,
        passive_memory: true,
      });
      assert.equal(ch.status, 201, JSON.stringify(ch.body));
      const stored = await sendIn(t, { ...groupMessage, conversation: room, text: "kept quietly" });
      assert.equal(stored.body.status, "stored");
      assert.equal(stored.body.task_id, null);
      const msgs = (await t.api("GET", `/api/v1/sessions/${stored.body.session_id}/messages`)).body;
      assert.ok(JSON.stringify(msgs).includes("kept quietly"));
      const chan = (await t.api("GET", `/api/v1/admin/channels/${ch.body.id}`)).body;
      assert.equal(chan.active_session_id, stored.body.session_id);
      assert.equal(llm.requests.length, 1, "only the mention ran a turn");
    });

    test("the bot's own (or another bot's) message is ignored", async () => {
      reset();
      const r = await sendIn(t, {
        conversation: `own-${randomUUID()}`,
        user: { id: "bot", name: "switchyard", is_bot: true },
        text: "echo: hi",
      });
      assert.equal(r.body.status, "ignored");
      assert.equal(r.body.task_id, null);
    });

    test("a redelivery after a restart runs no second turn", async () => {
      reset();
      const db = await createTestDatabase(backend);
      const llm2 = await startFakeLlm();
      try {
        const msg = { ...directMessage, conversation: `restart-${randomUUID()}` };
        let first: Awaited<ReturnType<typeof sendIn>>;
        {
          const a = await startTestApp({
            backend,
            llm: llm2,
            env: env(),
            tuning: TUNING,
            keepDb: db,
          });
          first = await sendIn(a, msg);
          await replyDelivered(a, first.body.task_id);
          await a.app.stop();
        }
        const b = await startTestApp({
          backend,
          llm: llm2,
          env: env(),
          tuning: TUNING,
          keepDb: db,
        });
        try {
          const again = await sendIn(b, msg, { id: first.id });
          assert.equal(again.body.status, "duplicate");
          assert.equal(again.body.task_id, first.body.task_id);
          assert.equal(llm2.requests.length, 1);
        } finally {
          await b.app.stop();
        }
      } finally {
        await llm2.close();
        await db.drop();
      }
    });
  });
}
