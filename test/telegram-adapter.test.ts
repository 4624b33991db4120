/**
 * The Telegram chat adapter (integrations/telegram) over real HTTP on 127.0.0.1 against a
 * fake Bot API (test/support/fake-telegram.ts), on SQLite and PostgreSQL: webhook mode
 * (secret token, setWebhook), private and group messages (mentions, replies, passive
 * memory, bots), dedupe on update_id, retries, split at 4,096, `/new`, the typing
 * indicator; polling mode (the stored offset across a restart); and two instances on one
 * PostgreSQL database polling one bot (one poller at a time, takeover on stop).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  alice,
  BOT_USERNAME,
  groupText,
  otherBot,
  privateCaption,
  privateText,
  self,
  TELEGRAM_TOKEN,
  WEBHOOK_SECRET,
} from "./fixtures/telegram.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import { type FakeTelegram, startFakeTelegram } from "./support/fake-telegram.ts";

const TUNING = { deliveryScheduleMs: [50, 50, 50], minBackoffAfterThrottleMs: 50, pollMs: 50 };
const WEBHOOK_URL = "https://bot.example.test/integrations/telegram/webhook";
const LEASE = "telegram/telegram:poll";

let nextUpdate = 5000;
/** A fresh update id. */
const uid = () => nextUpdate++;

/** POSTs an update to the webhook with the secret token (or `secret`, or none with null). */
async function postUpdate(t: TestApp, update: unknown, secret: string | null = WEBHOOK_SECRET) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret !== null) headers["x-telegram-bot-api-secret-token"] = secret;
  const res = await fetch(`${t.url}/integrations/telegram/webhook`, {
    method: "POST",
    headers,
    body: JSON.stringify(update),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Delivery states that will be tried again. */
const UNSETTLED = ["pending", "failed"];

/** Waits until the app has no pending telegram deliveries and `n` tasks are final. */
async function drained(t: TestApp): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const list = (await t.api("GET", "/api/v1/deliveries?target_type=telegram&limit=200"))
      .body as any[];
    if (Array.isArray(list) && !list.some((d) => UNSETTLED.includes(d.status))) return;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error("telegram deliveries not drained");
}

/** Waits for the task's reply to be delivered (or dead). */
async function replied(t: TestApp, taskId: string): Promise<void> {
  await t.waitForTask(taskId);
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const list = (await t.api("GET", `/api/v1/deliveries?task_id=${taskId}&target_type=telegram`))
      .body as any[];
    const done = list.filter((d) => d.status === "delivered" || d.status === "dead");
    if (done.length > 0 && !list.some((d) => UNSETTLED.includes(d.status))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`reply of ${taskId} not delivered`);
}

/** The sendMessage bodies to `chatId`. */
const sentTo = (fake: FakeTelegram, chatId: number) =>
  fake.sent.filter((s) => String(s.body.chat_id) === String(chatId)).map((s) => s.body);

const env = (fake: FakeTelegram, extra: Record<string, string> = {}) => ({
  TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
  TELEGRAM_API_URL: fake.url,
  ...extra,
});

for (const backend of ALL_BACKENDS) {
  describe(`telegram adapter, webhook mode (${backend})`, runsOn(backend), () => {
    let llm: FakeLlm;
    let fake: FakeTelegram;
    let t: TestApp;
    before(async () => {
      llm = await startFakeLlm();
      fake = await startFakeTelegram({ token: TELEGRAM_TOKEN, username: BOT_USERNAME });
      t = await startTestApp({
        backend,
        llm,
        env: env(fake, {
          TELEGRAM_WEBHOOK_URL: WEBHOOK_URL,
          TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
        }),
        tuning: TUNING,
      });
    });
    after(async () => {
      await t?.close();
      await fake?.close();
      await llm?.close();
    });
    const reset = () => {
      llm.reset();
      fake.sent.length = 0;
      fake.calls.length = 0;
    };

    test("setWebhook registered the URL with the secret; the secret token is checked: wrong or missing → 401, nothing stored", async () => {
      assert.deepEqual(fake.webhook, {
        url: WEBHOOK_URL,
        secret_token: WEBHOOK_SECRET,
        allowed_updates: ["message", "callback_query"],
      });
      reset();
      const u = privateText(uid(), "let me in");
      assert.equal((await postUpdate(t, u, "wrong-secret")).status, 401);
      assert.equal((await postUpdate(t, u, `${WEBHOOK_SECRET}x`)).status, 401);
      assert.equal((await postUpdate(t, u, WEBHOOK_SECRET.slice(0, -1))).status, 401);
      assert.equal((await postUpdate(t, u, null)).status, 401);
      const sessions = (await t.api("GET", "/api/v1/sessions?limit=200")).body;
      assert.ok(!JSON.stringify(sessions).includes(`telegram::${alice.id}`), "nothing stored");
      const good = await postUpdate(t, u);
      assert.equal(good.status, 200);
      assert.equal(good.body.status, "run");
      await replied(t, good.body.task_id);
      assert.equal(llm.requests.length, 1);
    });

    test("a private message gets exactly one reply, quoting it; typing is shown during the turn", async () => {
      reset();
      // The model answers only once the typing indicator was sent: it is seen during the turn.
      llm.setResponder(async () => {
        await fake.waitFor(() => fake.callsOf("sendChatAction").length > 0, 10_000, "typing");
        return { text: "hello Alice" };
      });
      const u = privateText(uid(), "hi bot");
      const r = await postUpdate(t, u);
      assert.equal(r.body.status, "run");
      await replied(t, r.body.task_id);
      await drained(t);
      const out = sentTo(fake, alice.id);
      assert.equal(out.length, 1);
      assert.equal(out[0].text, "hello Alice");
      assert.equal(out[0].parse_mode, undefined, "plain text");
      assert.deepEqual(out[0].reply_parameters, {
        message_id: u.message.message_id,
        allow_sending_without_reply: true,
      });
      const typing = fake.callsOf("sendChatAction");
      assert.equal(typing.length, 1);
      assert.equal(typing[0]!.body.action, "typing");
      assert.ok(typing[0]!.at <= fake.callsOf("sendMessage")[0]!.at);
      const sentText = JSON.stringify(llm.requests.at(-1)!.messages);
      assert.ok(sentText.includes("hi bot"));
    });

    test("a photo's caption is the text; the photo is fetched and shown to the model", async () => {
      reset();
      fake.addFile("AgACAgIAAxkBAAIB", Buffer.from("not really a jpeg"), "photos/file_9.jpg");
      const r = await postUpdate(t, privateCaption(uid(), "what is this?"));
      assert.equal(r.body.status, "run");
      await replied(t, r.body.task_id);
      await fake.waitFor(() => fake.sent.length === 1);
      // The echo joins the user message's text parts: the caption, then the image's line.
      assert.match(
        fake.sent[0]!.body.text,
        /^echo: what is this\?\[Attached image photo_AQADr\.jpg /,
      );
    });

    test("a group message without a mention is ignored; with a passive_memory channel it is stored without a turn", async () => {
      reset();
      const chatId = -1009000000001;
      const ignored = await postUpdate(t, groupText(uid(), "just chatting", { chatId }));
      assert.equal(ignored.status, 200);
      assert.equal(ignored.body.status, "ignored");
      const ch = await t.api("POST", "/api/v1/admin/channels", {
        integration: "telegram",
        channel: String(chatId),
        passive_memory: true,
      });
      assert.equal(ch.status, 201, JSON.stringify(ch.body));
      const stored = await postUpdate(t, groupText(uid(), "kept quietly", { chatId }));
      assert.equal(stored.body.status, "stored");
      const chan = (await t.api("GET", `/api/v1/admin/channels/${ch.body.id}`)).body;
      const msgs = (await t.api("GET", `/api/v1/sessions/${chan.active_session_id}/messages`)).body;
      assert.ok(JSON.stringify(msgs).includes("kept quietly"));
      assert.equal(llm.requests.length, 0, "no turn");
      assert.equal(fake.sent.length, 0);
    });

    test("a group message with an @mention, or replying to the bot, runs a turn (the mention cut from the text)", async () => {
      reset();
      const chatId = -1009000000002;
      const m = await postUpdate(
        t,
        groupText(uid(), `@${BOT_USERNAME} what is the time?`, { chatId }),
      );
      assert.equal(m.body.status, "run");
      const other = await postUpdate(t, groupText(uid(), "@someone_else hi there", { chatId }));
      assert.equal(other.body.status, "ignored", "a mention of someone else");
      const r = await postUpdate(
        t,
        groupText(uid(), "and tomorrow?", { chatId, replyToBot: true }),
      );
      assert.equal(r.body.status, "run");
      await replied(t, m.body.task_id);
      await replied(t, r.body.task_id);
      await drained(t);
      const texts = sentTo(fake, chatId).map((b) => b.text);
      assert.deepEqual(texts.sort(), ["echo: and tomorrow?", "echo: what is the time?"]);
      // A forum topic is its own conversation; the reply goes to the topic.
      const topic = await postUpdate(
        t,
        groupText(uid(), `@${BOT_USERNAME} in a topic`, { chatId, threadId: 77 }),
      );
      assert.equal(topic.body.status, "run");
      await fake.waitFor(() => sentTo(fake, chatId).length === 3);
      assert.equal(sentTo(fake, chatId)[2].message_thread_id, 77);
      assert.notEqual(topic.body.session_id, m.body.session_id);
    });

    test("the bot's own message and another bot's are ignored", async () => {
      reset();
      const own = await postUpdate(t, groupText(uid(), "echo: hi", { from: self }));
      assert.equal(own.body.status, "ignored");
      const bot = await postUpdate(
        t,
        groupText(uid(), `@${BOT_USERNAME} ping`, { from: otherBot }),
      );
      assert.equal(bot.body.status, "ignored");
      assert.equal(llm.requests.length, 0);
    });

    test("the same update delivered twice runs one turn", async () => {
      reset();
      const u = privateText(uid(), "once please");
      const [a, b] = await Promise.all([postUpdate(t, u), postUpdate(t, u)]);
      assert.deepEqual([a.body.status, b.body.status].sort(), ["duplicate", "run"]);
      const again = await postUpdate(t, u);
      assert.equal(again.body.status, "duplicate");
      await replied(t, (a.body.task_id ?? b.body.task_id) as string);
      await drained(t);
      assert.equal(llm.requests.length, 1);
      assert.equal(fake.sent.length, 1);
    });

    test("sendMessage answering 500 once still gives one reply", async () => {
      reset();
      fake.failNext("sendMessage", 500);
      const r = await postUpdate(t, privateText(uid(), "flaky"));
      await replied(t, r.body.task_id);
      await drained(t);
      assert.equal(fake.callsOf("sendMessage").length, 2, "one failed try, one accepted");
      assert.equal(fake.sent.length, 1);
    });

    test("429 is retried; 403 (bot blocked) is final, tried once", async () => {
      reset();
      fake.failNext("sendMessage", 429, 1);
      const r = await postUpdate(t, privateText(uid(), "rate limited"));
      await replied(t, r.body.task_id);
      const tries = fake.callsOf("sendMessage");
      assert.equal(tries.length, 2);
      assert.equal(fake.sent.length, 1);
      reset();
      fake.failNext("sendMessage", 403);
      const blocked = await postUpdate(t, privateText(uid(), "blocked"));
      await replied(t, blocked.body.task_id);
      const rows = (
        await t.api(
          "GET",
          `/api/v1/deliveries?task_id=${blocked.body.task_id}&target_type=telegram`,
        )
      ).body as any[];
      assert.ok(
        rows.some((d) => d.status === "dead"),
        "the reply is dead",
      );
      assert.equal(fake.callsOf("sendMessage").length, 1, "not retried");
      assert.equal(fake.sent.length, 0);
    });

    test("a long reply is split at 4,096 characters, in order", async () => {
      reset();
      const words = Array.from({ length: 2000 }, (_, i) => `w${i}`);
      const long = words.join(" ");
      assert.ok(long.length > 8192);
      llm.enqueue({ text: long });
      const r = await postUpdate(t, privateText(uid(), "tell me a lot"));
      await replied(t, r.body.task_id);
      await drained(t);
      const parts = fake.sent.map((s) => s.body.text as string);
      assert.equal(parts.length, 3);
      for (const p of parts) assert.ok(p.length <= 4096, `part of ${p.length}`);
      assert.equal(parts.join(" "), long);
    });

    test("/new and /new@bot start a fresh session with a notice", async () => {
      reset();
      const first = await postUpdate(t, privateText(uid(), "remember me"));
      await replied(t, first.body.task_id);
      const fresh = await postUpdate(t, privateText(uid(), "/new"));
      assert.equal(fresh.body.status, "new_session");
      const chatId = -1009000000003;
      const g1 = await postUpdate(t, groupText(uid(), `@${BOT_USERNAME} hi`, { chatId }));
      assert.equal(g1.body.status, "run");
      const g2 = await postUpdate(t, groupText(uid(), `/new@${BOT_USERNAME}`, { chatId }));
      assert.equal(g2.body.status, "new_session");
      const g3 = await postUpdate(t, groupText(uid(), "/new@other_bot", { chatId }));
      assert.equal(g3.body.status, "ignored", "a command for another bot");
      assert.notEqual(fresh.body.session_id, first.body.session_id);
      const old = (await t.api("GET", `/api/v1/sessions/${first.body.session_id}`)).body;
      assert.ok(old.ended_at, "the old session is ended");
      await fake.waitFor(
        () => fake.sent.filter((s) => s.body.text === "Started a new session.").length === 2,
      );
      await drained(t);
    });
  });

  describe(`telegram adapter, polling mode (${backend})`, runsOn(backend), () => {
    let llm: FakeLlm;
    let fake: FakeTelegram;
    before(async () => {
      llm = await startFakeLlm();
      fake = await startFakeTelegram({ token: TELEGRAM_TOKEN, username: BOT_USERNAME });
    });
    after(async () => {
      await fake?.close();
      await llm?.close();
    });

    test("deleteWebhook at start; a restart neither replays nor loses updates (the stored offset)", async () => {
      const db = await createTestDatabase(backend);
      const apps: TestApp[] = [];
      const start = async () => {
        const app = await startTestApp({
          backend,
          llm,
          env: env(fake, { TELEGRAM_POLL_TIMEOUT_SECONDS: "2" }),
          tuning: TUNING,
          keepDb: db,
        });
        apps.push(app);
        return app;
      };
      try {
        fake.webhook = { url: "https://old.example.test/hook" };
        const a = await start();
        assert.equal(fake.webhook, undefined, "deleteWebhook was called");
        assert.equal(fake.callsOf("deleteWebhook").length, 1);
        const [u1, u2] = [privateText(uid(), "one"), privateText(uid(), "two")];
        fake.push(u1, u2);
        await fake.waitFor(() => fake.sent.length === 2, 10_000, "two replies");
        await drained(a);
        assert.equal(
          await a.app.store.integrationKv.get("telegram", "poll_offset"),
          u2.update_id + 1,
        );
        await a.app.stop();
        // While the server is down, one more message arrives.
        const u3 = privateText(uid(), "three");
        fake.push(u3);
        const pollsBefore = fake.callsOf("getUpdates").length;
        const b = await start();
        await fake.waitFor(() => fake.sent.length === 3, 10_000, "the third reply");
        await drained(b);
        assert.deepEqual(
          fake.sent.map((s) => s.body.text),
          ["echo: one", "echo: two", "echo: three"],
        );
        assert.equal(llm.requests.length, 3, "nothing replayed");
        // The first poll after the restart asked from the stored offset.
        const polls = fake.callsOf("getUpdates");
        assert.equal(polls[pollsBefore]!.body.offset, u2.update_id + 1);
        assert.deepEqual(polls[pollsBefore]!.body.allowed_updates, ["message", "callback_query"]);
      } finally {
        for (const x of apps) await x.app.stop();
        await db.drop();
      }
    });
  });
}

describe("telegram adapter: two instances on one PostgreSQL database", runsOn("postgres"), () => {
  test("one poller at a time: 30 updates each handled once, no overlapping getUpdates; stopping the poller hands over within the lease TTL", async () => {
    const llm = await startFakeLlm();
    const fake = await startFakeTelegram({ token: TELEGRAM_TOKEN, username: BOT_USERNAME });
    const db = await createTestDatabase("postgres");
    const ttl = 1500;
    const start = () =>
      startTestApp({
        backend: "postgres",
        llm,
        env: env(fake, { TELEGRAM_POLL_TIMEOUT_SECONDS: "1" }),
        tuning: { ...TUNING, leaseTtlMs: ttl },
        keepDb: db,
      });
    const apps: TestApp[] = [];
    try {
      apps.push(await start());
      apps.push(await start());
      const [a, b] = apps as [TestApp, TestApp];
      // Both are running; wait until one holds the poll lease.
      await fake.waitFor(() => fake.callsOf("getUpdates").length > 0);
      assert.ok((await a.app.store.leases.get(LEASE))?.holder, "someone holds the lease");
      const ids: number[] = [];
      for (let i = 0; i < 30; i++) {
        const u = privateText(uid(), `msg ${i}`);
        ids.push(u.message.message_id);
        fake.push(u);
        if (i % 5 === 0) await new Promise((r) => setTimeout(r, 20));
      }
      await fake.waitFor(() => fake.sent.length >= 30, 30_000, "30 replies");
      await drained(a);
      await drained(b);
      assert.equal(fake.sent.length, 30, "one reply each");
      assert.deepEqual(
        fake.sent.map((s) => s.body.reply_parameters.message_id).sort(),
        [...ids].sort(),
      );
      assert.equal(llm.requests.length, 30, "one turn each");
      assert.equal(fake.overlaps, 0, "never two getUpdates at once");
      assert.equal(fake.conflicts, 0, "no 409");
      // Stop the poller; the other takes over within the lease TTL and handles new updates.
      const holder = (await a.app.store.leases.get(LEASE))!.holder;
      const poller = holder.startsWith(a.app.owner) ? a : b;
      const other = poller === a ? b : a;
      await poller.app.stop();
      const stoppedAt = Date.now();
      await fake.waitFor(
        () => fake.callsOf("getUpdates").some((c) => c.at > stoppedAt),
        ttl + 2000,
        "the other instance polling",
      );
      const tookOver = fake.callsOf("getUpdates").find((c) => c.at > stoppedAt)!.at;
      assert.ok(tookOver - stoppedAt <= ttl, `took over after ${tookOver - stoppedAt} ms`);
      assert.ok((await other.app.store.leases.get(LEASE))?.holder.startsWith(other.app.owner));
      const late = privateText(uid(), "after the handover");
      fake.push(late);
      await fake.waitFor(() => fake.sent.length === 31, 10_000, "the reply after handover");
      assert.equal(fake.sent.at(-1)!.body.text, "echo: after the handover");
      assert.equal(fake.overlaps, 0);
    } finally {
      for (const x of apps) await x.app.stop();
      await fake.close();
      await llm.close();
      await db.drop();
    }
  });
});
