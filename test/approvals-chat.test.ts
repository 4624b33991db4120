/**
 * Approvals end to end through each chat adapter (issue 13) over real HTTP, on SQLite and
 * PostgreSQL: a bot whose `deploy` tool needs approval; a message through the adapter's
 * fake (a signed Slack event, a Telegram webhook update, a Discord `/ask`) parks the turn;
 * the request shows up in the fake API with its controls; a control pressed (a signed
 * block_actions interaction, a callback_query update, a signed MESSAGE_COMPONENT
 * interaction) resolves it: the tool runs once, the reply arrives and the request is edited
 * to show the decision. Also: deny; a press from another conversation refused (the request
 * stays pending); a second press after the decision answered with the first decision, not
 * resolved again.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { guildCommand, makeKeyPair } from "./fixtures/discord.ts";
import { buttonPress, postInteraction } from "./fixtures/discord-component.ts";
import {
  appMentionEvent,
  BOT_USER_ID,
  envelope,
  freshTs,
  postSlackEvent,
  USER_ID,
} from "./fixtures/slack.ts";
import { blockActions, sendInteraction } from "./fixtures/slack-interactions.ts";
import { alice, BOT_USERNAME, privateText, WEBHOOK_SECRET } from "./fixtures/telegram.ts";
import { callbackQuery } from "./fixtures/telegram-callback.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { CHAT_TUNING, type ChatFakes, startChatFakes } from "./support/chat-fakes.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import type { FakeDiscord } from "./support/fake-discord.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import type { FakeSlack } from "./support/fake-slack.ts";
import type { FakeTelegram } from "./support/fake-telegram.ts";
import { until as untilTruthy } from "./support/wait.ts";

const keys = makeKeyPair();
const MASON = "53908232506183680";

/** Polls until `fn` returns a truthy value (15 s). */
const until = <T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
) => untilTruthy(fn, what, 15_000);

let updateSeq = Math.floor(Date.now() / 1000) % 1_000_000;

for (const backend of ALL_BACKENDS) {
  describe(`approvals through chat adapters (${backend})`, runsOn(backend), () => {
    let llm: FakeLlm;
    let fakes: ChatFakes;
    let slack: FakeSlack;
    let telegram: FakeTelegram;
    let discord: FakeDiscord;
    let t: TestApp;
    const runs: unknown[] = [];

    before(async () => {
      llm = await startFakeLlm();
      fakes = await startChatFakes({ discordKeys: keys, telegramUsername: BOT_USERNAME });
      ({ slack, telegram, discord } = fakes);
      t = await startTestApp({
        backend,
        llm,
        tuning: CHAT_TUNING,
        env: fakes.env,
      });
      t.app.tools.register({
        name: "deploy",
        description: "Deploys a service",
        parameters: {
          type: "object",
          properties: { service: { type: "string" } },
          required: ["service"],
        },
        execute: async (args: unknown) => {
          runs.push(args);
          return { deployed: (args as { service: string }).service };
        },
      });
      const r = await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["deploy"],
        approval: { default: "never", tools: { deploy: "always" } },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      // Every adapter running (Telegram registered its webhook) before the first message.
      await until(
        () =>
          ["slack", "telegram", "discord"].every(
            (n) => t.app.adapters.list().find((s) => s.name === n)?.state === "running",
          ),
        "the three adapters running",
      );
    });
    after(async () => {
      await t?.close();
      await Promise.all([fakes?.close(), llm?.close()]);
    });

    /** Scripts one turn: a deploy call, then `text` once the decision is in. */
    const script = (service: string, text: string) => {
      runs.length = 0;
      llm.reset();
      llm.enqueue({ toolCalls: [{ name: "deploy", args: { service } }] }, { text });
    };
    const approval = async (id: string) => (await t.api("GET", `/api/v1/approvals/${id}`)).body;

    describe("Slack", () => {
      /** A signed mention in a fresh channel; resolves with the task id and the channel. */
      async function mention(text: string) {
        const ts = freshTs();
        const channel = `C${freshTs().replace(".", "")}`;
        const body = JSON.stringify(
          envelope({
            ...appMentionEvent,
            text: `<@${BOT_USER_ID}> ${text}`,
            channel,
            ts,
            event_ts: ts,
          }),
        );
        const json = (await postSlackEvent(t.url, JSON.parse(body))).body;
        assert.equal(json.status, "run", JSON.stringify(json));
        return { taskId: json.task_id as string, channel, thread: ts };
      }
      /** The request post of `channel` and the approval id its Approve button carries. */
      async function requestIn(channel: string) {
        const post = await until(
          () =>
            slack.posts.find(
              (p) => p.channel === channel && p.blocks?.some((b) => b.type === "actions"),
            ),
          "the request post",
        );
        const approve = post.blocks!.find((b) => b.type === "actions").elements[0]
          .action_id as string;
        return { post, id: approve.split(":")[2]! };
      }
      const press = (o: {
        decision: string;
        id: string;
        channel: string;
        ts: string;
        thread: string;
        user?: string;
      }) =>
        sendInteraction(
          t.url,
          blockActions({
            actionId: `approval:${o.decision}:${o.id}`,
            channel: o.channel,
            messageTs: o.ts,
            threadTs: o.thread,
            ...(o.user ? { user: o.user } : {}),
          }),
        );

      test("approve by button: a press elsewhere is refused, the tool runs once, the reply arrives, the request shows the decision, a second press gets the first decision", async () => {
        script("api", "Deployed api.");
        const { taskId, channel, thread } = await mention("deploy the api");
        const { post, id } = await requestIn(channel);
        assert.equal(post.thread_ts, thread);
        assert.equal(
          (await t.waitForTask(taskId, ["waiting_approval"])).status,
          "waiting_approval",
        );

        const foreign = await press({
          decision: "approve",
          id,
          channel: "C0ELSEWHERE",
          ts: post.ts,
          thread,
          user: "U0STRANGER",
        });
        assert.equal(foreign.status, 200);
        await until(() => slack.ephemerals.find((e) => e.user === "U0STRANGER"), "the refusal");
        assert.match(
          slack.ephemerals.find((e) => e.user === "U0STRANGER")!.text,
          /Only the members/,
        );
        assert.equal((await approval(id)).status, "pending");
        assert.equal(runs.length, 0);

        const res = await press({ decision: "approve", id, channel, ts: post.ts, thread });
        assert.equal(res.status, 200);
        const done = await t.waitForTask(taskId);
        assert.equal(done.status, "complete", JSON.stringify(done));
        assert.deepEqual(runs, [{ service: "api" }]);
        await until(
          () => slack.posts.find((p) => p.channel === channel && p.text === "Deployed api."),
          "the reply",
        );
        const edit = await until(
          () => slack.updates.find((u) => u.ts === post.ts),
          "the request updated",
        );
        assert.match(edit.text, new RegExp(`Approved by slack:${USER_ID}`));
        assert.ok(!edit.blocks?.some((b) => b.type === "actions"), "buttons gone");
        assert.equal((await approval(id)).decided_by, `slack:${USER_ID}`);

        await press({ decision: "deny", id, channel, ts: post.ts, thread, user: "U0LATE" });
        const late = await until(
          () => slack.ephemerals.find((e) => e.user === "U0LATE"),
          "the late answer",
        );
        assert.match(late.text, new RegExp(`Already decided\\. .*Approved by slack:${USER_ID}`));
        assert.equal((await approval(id)).status, "approved");
        assert.equal(runs.length, 1);
        assert.equal(slack.updates.filter((u) => u.ts === post.ts).length, 1, "not decided again");
      });

      test("deny by button: the tool does not run, the model is told, the request shows the denial", async () => {
        script("db", "Understood, not deploying.");
        const { taskId, channel, thread } = await mention("deploy the db");
        const { post, id } = await requestIn(channel);
        await press({ decision: "deny", id, channel, ts: post.ts, thread });
        const done = await t.waitForTask(taskId);
        assert.equal(done.result, "Understood, not deploying.");
        assert.equal(runs.length, 0);
        await until(
          () =>
            slack.posts.find(
              (p) => p.channel === channel && p.text === "Understood, not deploying.",
            ),
          "the reply",
        );
        const edit = await until(
          () => slack.updates.find((u) => u.ts === post.ts),
          "the request updated",
        );
        assert.match(edit.text, /Denied by slack:/);
      });
    });

    describe("Telegram", () => {
      const hook = async (update: unknown) => {
        const res = await fetch(`${t.url}/integrations/telegram/webhook`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-telegram-bot-api-secret-token": WEBHOOK_SECRET,
          },
          body: JSON.stringify(update),
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      async function ask(text: string) {
        const before = telegram.sent.length;
        const r = await hook(privateText(++updateSeq, text));
        assert.equal(r.body.status, "run", JSON.stringify(r.body));
        const msg = await until(
          () => telegram.sent.slice(before).find((m) => m.body.reply_markup?.inline_keyboard),
          "the request message",
        );
        const data = msg.body.reply_markup.inline_keyboard[0][0].callback_data as string;
        return { taskId: r.body.task_id as string, msg, id: data.split(":")[2]! };
      }

      test("approve by inline keyboard: a press elsewhere is refused, the tool runs once, the reply arrives, the request is edited, a second press gets the first decision", async () => {
        script("api", "Deployed api.");
        const { taskId, msg, id } = await ask("deploy the api");
        const foreign = await hook(
          callbackQuery(++updateSeq, {
            data: `approval:approve:${id}`,
            messageId: msg.message_id,
            chatType: "supergroup",
          }),
        );
        assert.equal(foreign.body.status, "forbidden");
        assert.match(telegram.answers.at(-1)!.text!, /Only the members/);
        assert.equal((await approval(id)).status, "pending");

        const ok = await hook(
          callbackQuery(++updateSeq, { data: `approval:approve:${id}`, messageId: msg.message_id }),
        );
        assert.equal(ok.body.status, "decided");
        assert.equal(telegram.answers.at(-1)!.text, "Approved");
        const done = await t.waitForTask(taskId);
        assert.equal(done.status, "complete", JSON.stringify(done));
        assert.deepEqual(runs, [{ service: "api" }]);
        await until(() => telegram.sent.find((m) => m.body.text === "Deployed api."), "the reply");
        const edit = await until(
          () => telegram.edits.find((e) => e.message_id === msg.message_id),
          "the edit",
        );
        assert.equal(edit.body.text, `✅ Approved by telegram:${alice.id}: deploy`);
        assert.deepEqual(edit.body.reply_markup, { inline_keyboard: [] });

        const late = await hook(
          callbackQuery(++updateSeq, { data: `approval:deny:${id}`, messageId: msg.message_id }),
        );
        assert.equal(late.body.status, "already_decided");
        assert.equal(
          telegram.answers.at(-1)!.text,
          `Already decided. ✅ Approved by telegram:${alice.id}: deploy`,
        );
        assert.equal((await approval(id)).status, "approved");
        assert.equal(runs.length, 1);
      });

      test("deny by inline keyboard: the tool does not run, the request is edited to the denial", async () => {
        script("db", "Understood, not deploying.");
        const { taskId, msg, id } = await ask("deploy the db");
        await hook(
          callbackQuery(++updateSeq, { data: `approval:deny:${id}`, messageId: msg.message_id }),
        );
        const done = await t.waitForTask(taskId);
        assert.equal(done.result, "Understood, not deploying.");
        assert.equal(runs.length, 0);
        const edit = await until(
          () => telegram.edits.find((e) => e.message_id === msg.message_id),
          "the edit",
        );
        assert.equal(edit.body.text, `❌ Denied by telegram:${alice.id}: deploy`);
      });
    });

    describe("Discord", () => {
      async function ask(prompt: string) {
        const channel =
          `11${String(Date.now()).slice(-13)}${Math.floor(Math.random() * 1000)}`.slice(0, 19);
        const cmd = guildCommand({ prompt, channel });
        const r = await postInteraction(t.url, cmd, keys);
        assert.deepEqual(r.body, { type: 5 });
        const msg = await until(
          () =>
            discord.messages.find(
              (m) => m.via === "channel" && m.channel === channel && m.body.components,
            ),
          "the request message",
        );
        const id = (msg.body.components[0].components[0].custom_id as string).split(":")[2]!;
        return { channel, token: cmd.token, msg, id };
      }
      const press = (
        decision: string,
        id: string,
        messageId: string,
        channel: string,
        userId?: string,
      ) =>
        postInteraction(
          t.url,
          buttonPress({
            customId: `approval:${decision}:${id}`,
            messageId,
            channel,
            ...(userId ? { userId } : {}),
          }),
          keys,
        );

      test("approve by button: a press elsewhere is refused, the tool runs once, the reply arrives, the request is edited, a second press gets the first decision", async () => {
        script("api", "Deployed api.");
        const { channel, token, msg, id } = await ask("deploy the api");
        const foreign = await press("approve", id, msg.id, "1199999999999999999");
        assert.equal(foreign.body.data.flags, 64);
        assert.match(foreign.body.data.content, /Only the members/);
        assert.equal((await approval(id)).status, "pending");

        assert.deepEqual((await press("approve", id, msg.id, channel)).body, { type: 6 });
        const taskId = (await approval(id)).task_id as string;
        const done = await t.waitForTask(taskId);
        assert.equal(done.status, "complete", JSON.stringify(done));
        assert.deepEqual(runs, [{ service: "api" }]);
        await discord.waitFor((ms) =>
          ms.some(
            (m) => m.via === "original" && m.token === token && m.content === "Deployed api.",
          ),
        );
        const edit = await until(() => discord.edits.find((e) => e.id === msg.id), "the edit");
        assert.equal(edit.body.content, `✅ Approved by discord:${MASON}: deploy`);
        assert.deepEqual(edit.body.components, []);

        const late = await press("deny", id, msg.id, channel, "80351110224678912");
        assert.equal(late.body.data.flags, 64);
        assert.equal(
          late.body.data.content,
          `Already decided. ✅ Approved by discord:${MASON}: deploy`,
        );
        assert.equal((await approval(id)).status, "approved");
        assert.equal(runs.length, 1);
      });

      test("deny by button: the tool does not run, the request is edited to the denial", async () => {
        script("db", "Understood, not deploying.");
        const { channel, msg, id } = await ask("deploy the db");
        await press("deny", id, msg.id, channel);
        const done = await t.waitForTask((await approval(id)).task_id);
        assert.equal(done.result, "Understood, not deploying.");
        assert.equal(runs.length, 0);
        const edit = await until(() => discord.edits.find((e) => e.id === msg.id), "the edit");
        assert.equal(edit.body.content, `❌ Denied by discord:${MASON}: deploy`);
      });
    });
  });
}
