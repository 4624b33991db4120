/**
 * The Telegram adapter's approval controls on their own (test/support/adapter-harness.ts,
 * no database): the request sent with an inline keyboard to a fake Bot API, presses
 * arriving as `callback_query` updates (test/fixtures/telegram-callback.ts) in webhook mode
 * and in polling mode, each reaching the decider once per update id and always answered
 * (answerCallbackQuery), and the request message edited to the decision, its keyboard gone.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { alice, BOT_USERNAME, TELEGRAM_TOKEN, WEBHOOK_SECRET } from "./fixtures/telegram.ts";
import { callbackQuery } from "./fixtures/telegram-callback.ts";
import {
  type AdapterHarness,
  approvalView,
  startAdapterHarness,
} from "./support/adapter-harness.ts";
import { type FakeTelegram, startFakeTelegram } from "./support/fake-telegram.ts";

const CHAT = String(alice.id);

async function postUpdate(base: string, update: unknown, secret: string | null = WEBHOOK_SECRET) {
  const res = await fetch(`${base}/integrations/telegram/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(secret ? { "x-telegram-bot-api-secret-token": secret } : {}),
    },
    body: JSON.stringify(update),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

describe("Telegram approval controls, webhook mode", () => {
  let fake: FakeTelegram;
  let h: AdapterHarness;
  let startAnswer: AdapterHarness["answer"];

  before(async () => {
    fake = await startFakeTelegram({ token: TELEGRAM_TOKEN, username: BOT_USERNAME });
    h = await startAdapterHarness("telegram", {
      TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
      TELEGRAM_API_URL: fake.url,
      TELEGRAM_WEBHOOK_URL: "https://bot.example.test/integrations/telegram/webhook",
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    startAnswer = h.answer;
  });
  after(async () => {
    await h?.close();
    await fake?.close();
  });

  test("the webhook asks for callback_query updates too", () => {
    assert.deepEqual(fake.webhook?.allowed_updates, ["message", "callback_query"]);
  });

  /** Sends a request; returns the sent message and the post id. */
  async function request(id: string) {
    const r = await h.send(
      { kind: "approval_request", approval: approvalView({ id }) },
      { conversation: { channel: CHAT } },
    );
    return { msg: fake.sent.at(-1)!, postId: r?.postId };
  }

  test("the request carries an inline keyboard whose callback_data holds the approval id (within 64 bytes)", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000011";
    const { msg, postId } = await request(id);
    assert.equal(postId, String(msg.message_id));
    assert.equal(String(msg.body.chat_id), CHAT);
    assert.match(msg.body.text, /delete_branch/);
    assert.match(msg.body.text, /old-<feature>/, "plain text, shown as typed");
    const buttons = msg.body.reply_markup.inline_keyboard.flat();
    assert.deepEqual(
      buttons.map((b: any) => b.callback_data),
      [`approval:approve:${id}`, `approval:deny:${id}`],
    );
    for (const b of buttons) assert.ok(Buffer.byteLength(b.callback_data) <= 64);
  });

  test("a press is decided once per update id and always answered; the request is edited to the decision without its keyboard", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000012";
    const { msg, postId } = await request(id);
    const n = h.decisions.length;
    const update = callbackQuery(7001, {
      data: `approval:approve:${id}`,
      messageId: msg.message_id,
    });
    const r = await postUpdate(h.url, update);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "decided");
    assert.deepEqual(h.decisions.slice(n), [
      {
        approvalId: id,
        decision: "approve",
        conversation: { channel: CHAT },
        actor: { id: String(alice.id), displayName: "Alice Liddell", isBot: false },
      },
    ]);
    assert.deepEqual(fake.answers.at(-1), {
      callback_query_id: update.callback_query.id,
      text: "Approved",
    });
    // Telegram redelivers the same update (the answer was lost): not decided again.
    const again = await postUpdate(h.url, update);
    assert.equal(again.status, 200);
    assert.equal(again.body.status, "duplicate");
    assert.equal(h.decisions.length, n + 1);
    await h.send(
      {
        kind: "approval_decided",
        approval: approvalView({ id, status: "approved", decidedBy: `telegram:${alice.id}` }),
        requestPost: postId!,
      },
      { conversation: { channel: CHAT } },
    );
    const edit = fake.edits.at(-1)!;
    assert.equal(edit.message_id, msg.message_id);
    assert.equal(edit.body.text, `✅ Approved by telegram:${alice.id}: delete_branch`);
    assert.deepEqual(edit.body.reply_markup, { inline_keyboard: [] });
    // The outbox may send the edit again: "message is not modified" is success.
    await h.send(
      {
        kind: "approval_decided",
        approval: approvalView({ id, status: "approved", decidedBy: `telegram:${alice.id}` }),
        requestPost: postId!,
      },
      { conversation: { channel: CHAT } },
    );
  });

  test("deny, a second press answered with the first decision, a press from elsewhere refused", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000013";
    const { msg } = await request(id);
    const n = h.decisions.length;
    await postUpdate(
      h.url,
      callbackQuery(7002, { data: `approval:deny:${id}`, messageId: msg.message_id }),
    );
    assert.equal(h.decisions.at(-1)!.decision, "deny");
    assert.equal(fake.answers.at(-1)!.text, "Denied");
    h.answer = () => ({
      outcome: "already_decided",
      approval: approvalView({ id, status: "denied", decidedBy: `telegram:${alice.id}` }),
    });
    await postUpdate(
      h.url,
      callbackQuery(7003, { data: `approval:approve:${id}`, messageId: msg.message_id }),
    );
    assert.equal(
      fake.answers.at(-1)!.text,
      `Already decided. ❌ Denied by telegram:${alice.id}: delete_branch`,
    );
    h.answer = () => ({ outcome: "forbidden" });
    const r = await postUpdate(
      h.url,
      callbackQuery(7004, {
        data: `approval:approve:${id}`,
        messageId: msg.message_id,
        chatType: "supergroup",
        threadId: 77,
      }),
    );
    assert.equal(r.body.status, "forbidden");
    assert.deepEqual(h.decisions.at(-1)!.conversation, { channel: "-1001234567890", thread: "77" });
    assert.match(fake.answers.at(-1)!.text!, /Only the members/);
    assert.equal(h.decisions.length, n + 3);
    h.answer = startAnswer;
  });

  test("another button, or a wrong secret token: nothing decided (the first answered, the second 401)", async () => {
    const n = h.decisions.length;
    const other = callbackQuery(7005, { data: "something_else", messageId: 1 });
    const r = await postUpdate(h.url, other);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "ignored");
    assert.equal(fake.answers.at(-1)!.callback_query_id, other.callback_query.id);
    const forged = await postUpdate(
      h.url,
      callbackQuery(7006, {
        data: "approval:approve:0190f1d2-0000-7000-8000-000000000013",
        messageId: 1,
      }),
      "wrong-secret",
    );
    assert.equal(forged.status, 401);
    assert.equal(h.decisions.length, n);
  });

  test("approval_decided without a request post sends the decision", async () => {
    const before = fake.sent.length;
    await h.send(
      { kind: "approval_decided", approval: approvalView({ status: "expired" }) },
      { conversation: { channel: CHAT } },
    );
    assert.equal(fake.sent.length, before + 1);
    assert.equal(fake.sent.at(-1)!.body.text, "⌛ Expired: delete_branch was not run");
  });
});

describe("Telegram approval controls, polling mode", () => {
  test("a callback_query from getUpdates is decided and answered, and polls ask for callback queries", async () => {
    const fake = await startFakeTelegram({ token: TELEGRAM_TOKEN, username: BOT_USERNAME });
    const h = await startAdapterHarness("telegram", {
      TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
      TELEGRAM_API_URL: fake.url,
      TELEGRAM_POLL_TIMEOUT_SECONDS: "1",
    });
    try {
      const id = "0190f1d2-0000-7000-8000-000000000021";
      const r = await h.send(
        { kind: "approval_request", approval: approvalView({ id }) },
        { conversation: { channel: CHAT } },
      );
      const update = callbackQuery(8001, {
        data: `approval:approve:${id}`,
        messageId: Number(r!.postId),
      });
      fake.push(update);
      await fake.waitFor(() => fake.answers.length > 0, 10_000, "answerCallbackQuery");
      assert.equal(h.decisions.length, 1);
      assert.equal(h.decisions[0]!.approvalId, id);
      assert.deepEqual(fake.answers, [
        { callback_query_id: update.callback_query.id, text: "Approved" },
      ]);
      const polls = fake.callsOf("getUpdates");
      assert.deepEqual(polls.at(-1)!.body.allowed_updates, ["message", "callback_query"]);
    } finally {
      await h.close();
      await fake.close();
    }
  });
});
