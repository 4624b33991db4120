/**
 * Files through the chat adapters (issue 13), one app running the Slack, Telegram (webhook
 * mode) and Discord adapters against their fakes on 127.0.0.1, on both backends. For each:
 * an inbound image (Slack `files` → files.info + url_private_download with the bot token;
 * Telegram `photo` → getFile + the file URL; Discord `/ask` with an ATTACHMENT option → the
 * CDN URL) is stored in the session's scope and reaches the model as an image part with the
 * same bytes (seen by the fake LLM); the model then calls `attach_file` with that file's id
 * and the reply uploads it (Slack getUploadURLExternal/upload/completeUploadExternal,
 * Telegram sendPhoto multipart, Discord multipart `files[0]`).
 */
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { PNG_1X1 } from "./attachments-model.test.ts";
import { guildCommand, makeKeyPair, signInteraction } from "./fixtures/discord.ts";
import {
  appMentionEvent,
  envelope,
  freshTs,
  postSlackEvent,
  SLACK_BOT_TOKEN,
} from "./fixtures/slack.ts";
import { alice, WEBHOOK_SECRET } from "./fixtures/telegram.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { CHAT_TUNING, type ChatFakes, startChatFakes } from "./support/chat-fakes.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import type { FakeDiscord } from "./support/fake-discord.ts";
import { type FakeLlm, type FakeLlmRequest, startFakeLlm } from "./support/fake-llm.ts";
import { imagesOf, userTextOf } from "./support/fake-llm-wire.ts";
import type { FakeSlack } from "./support/fake-slack.ts";
import type { FakeTelegram } from "./support/fake-telegram.ts";

const keys = makeKeyPair();

/**
 * The model: when the last message is the user's, it attaches the file whose id the user
 * message names (`…; id <uuid>)`); after the tool result it answers.
 */
function attachBack(req: FakeLlmRequest) {
  const last = req.messages.at(-1);
  if (last?.role === "tool") return { text: "Here is your file back." };
  const id = /; id ([0-9a-f-]{36})\)/.exec(userTextOf(req))?.[1];
  if (!id) return { text: "no file seen" };
  return { toolCalls: [{ name: "attach_file", args: { attachment_id: id } }] };
}

/** The model requests of the turn that saw an image, once there is one. */
async function imageRequest(llm: FakeLlm): Promise<FakeLlmRequest> {
  const until = Date.now() + 15_000;
  for (;;) {
    const r = llm.requests.find((x) => imagesOf(x).length > 0);
    if (r) return r;
    if (Date.now() > until) throw new Error("the model never saw an image");
    await llm.waitForRequests(llm.requests.length + 1, until - Date.now()).catch(() => {});
  }
}

for (const backend of ALL_BACKENDS) {
  describe(`files through the chat adapters (${backend})`, runsOn(backend), () => {
    let llm: FakeLlm;
    let fakes: ChatFakes;
    let slack: FakeSlack;
    let telegram: FakeTelegram;
    let discord: FakeDiscord;
    let t: TestApp;

    before(async () => {
      llm = await startFakeLlm();
      fakes = await startChatFakes({ discordKeys: keys });
      ({ slack, telegram, discord } = fakes);
      t = await startTestApp({
        backend,
        llm,
        tuning: CHAT_TUNING,
        env: fakes.env,
      });
      const r = await t.api("PUT", "/api/v1/admin/bots/default", { tools: ["attach_file"] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    });
    after(async () => {
      await t?.close();
      await Promise.all([fakes?.close(), llm?.close()]);
    });

    const fresh = () => {
      llm.reset();
      llm.setResponder(attachBack);
    };

    test("Slack: a shared image reaches the model; attach_file uploads it back", async () => {
      fresh();
      slack.addFile("F0SLACKIMG", "screen.png", "image/png", PNG_1X1);
      const ts = freshTs();
      const channel = `C${randomInt(1e8, 1e9)}`;
      const body = JSON.stringify(
        envelope({
          ...appMentionEvent,
          channel,
          ts,
          event_ts: ts,
          files: [
            { id: "F0SLACKIMG", name: "screen.png", mimetype: "image/png", size: PNG_1X1.length },
          ],
        }),
      );
      const send = async () => (await postSlackEvent(t.url, JSON.parse(body))).body;
      const out = await send();
      assert.equal(out.status, "run", JSON.stringify(out));
      // A redelivery (Slack's retry of the same event_id) downloads nothing again.
      assert.equal((await send()).status, "duplicate");
      const req = await imageRequest(llm);
      assert.deepEqual(imagesOf(req)[0]!.bytes, PNG_1X1);
      assert.equal(imagesOf(req)[0]!.mediaType, "image/png");
      assert.deepEqual(slack.downloads, ["F0SLACKIMG"]);
      const fileCall = slack.calls.find((c) => c.method === "files.info");
      assert.equal(fileCall?.headers.authorization, `Bearer ${SLACK_BOT_TOKEN}`);
      await t.waitForTask(out.task_id);
      const until = Date.now() + 15_000;
      while (!slack.uploads.length && Date.now() < until) {
        await slack.waitForPosts(slack.posts.length + 1, until - Date.now()).catch(() => {});
      }
      assert.equal(slack.uploads.length, 1, "one file uploaded");
      const up = slack.uploads[0]!;
      assert.equal(up.filename, "screen.png");
      assert.equal(up.channel, channel);
      assert.equal(up.thread_ts, ts);
      assert.deepEqual(up.bytes, PNG_1X1);
    });

    test("Telegram: a photo reaches the model; attach_file sends it back with sendPhoto", async () => {
      fresh();
      const path = telegram.addFile("AgACPHOTO1", PNG_1X1, "photos/file_1.png");
      const update = {
        update_id: randomInt(1e6, 1e7),
        message: {
          message_id: randomInt(1e3, 1e6),
          from: alice,
          chat: { id: alice.id, first_name: alice.first_name, type: "private" },
          date: Math.floor(Date.now() / 1000),
          photo: [
            { file_id: "AgACthumb", file_unique_id: "thumb", width: 1, height: 1, file_size: 10 },
            {
              file_id: "AgACPHOTO1",
              file_unique_id: "AQADphoto1",
              width: 1,
              height: 1,
              file_size: PNG_1X1.length,
            },
          ],
          caption: "what is this?",
        },
      };
      const res = await fetch(`${t.url}/integrations/telegram/webhook`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-telegram-bot-api-secret-token": WEBHOOK_SECRET,
        },
        body: JSON.stringify(update),
      });
      const out = (await res.json()) as any;
      assert.equal(out.status, "run", JSON.stringify(out));
      const req = await imageRequest(llm);
      assert.deepEqual(imagesOf(req)[0]!.bytes, PNG_1X1);
      assert.match(userTextOf(req), /what is this\?/);
      assert.deepEqual(telegram.downloads, [path]);
      assert.equal(telegram.callsOf("getFile")[0]?.body.file_id, "AgACPHOTO1", "the largest size");
      await t.waitForTask(out.task_id);
      await telegram.waitFor(() => telegram.uploads.length > 0, 15_000, "a file upload");
      const up = telegram.uploads[0]!;
      assert.equal(up.method, "sendPhoto");
      assert.equal(up.fields.chat_id, String(alice.id));
      // grammY sends the file as its own part and `photo: attach://<part>` (Bot API).
      assert.equal(up.fields.photo, `attach://${up.file.field}`);
      assert.deepEqual(up.file.bytes, PNG_1X1);
    });

    test("Discord: an /ask attachment reaches the model; attach_file uploads it as files[0]", async () => {
      fresh();
      const cmd = guildCommand({ prompt: "describe the attachment" }) as any;
      const attId = "1100000000000000001";
      const url = discord.addCdnFile(`attachments/1/${attId}/diagram.png`, PNG_1X1);
      cmd.data.options.push({ type: 11, name: "file", value: attId });
      cmd.data.resolved = {
        attachments: {
          [attId]: {
            id: attId,
            filename: "diagram.png",
            content_type: "image/png",
            size: PNG_1X1.length,
            url,
            proxy_url: url,
          },
        },
      };
      const body = JSON.stringify(cmd);
      const ts = String(Math.floor(Date.now() / 1000));
      const res = await fetch(`${t.url}/integrations/discord/interactions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-signature-timestamp": ts,
          "x-signature-ed25519": signInteraction(keys.privateKey, ts, body),
        },
        body,
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as any).type, 5, "deferred");
      const req = await imageRequest(llm);
      assert.deepEqual(imagesOf(req)[0]!.bytes, PNG_1X1);
      assert.equal(discord.cdnDownloads.length, 1);
      const msgs = await discord.waitFor((m) => m.some((x) => x.files.length > 0), 15_000);
      const withFile = msgs.find((x) => x.files.length > 0)!;
      assert.equal(withFile.via, "followup", "a follow-up of the interaction");
      assert.equal(withFile.token, cmd.token);
      assert.equal(withFile.files[0]!.field, "files[0]");
      assert.equal(withFile.files[0]!.name, "diagram.png");
      assert.deepEqual(withFile.files[0]!.bytes, PNG_1X1);
      assert.deepEqual(withFile.body.allowed_mentions, { parse: [] });
    });
  });
}
