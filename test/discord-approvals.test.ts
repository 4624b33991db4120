/**
 * The Discord adapter's approval controls on their own (test/support/adapter-harness.ts,
 * no database): the request posted in the channel with two buttons to a fake Discord REST
 * API, a press arriving as a signed MESSAGE_COMPONENT interaction
 * (test/fixtures/discord-component.ts) reaching the decider and answered with a deferred
 * update (type 6) or an ephemeral note, and the request message edited to the decision with
 * its buttons removed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { APPLICATION_ID, BOT_TOKEN, makeKeyPair } from "./fixtures/discord.ts";
import { buttonPress, postInteraction } from "./fixtures/discord-component.ts";
import {
  type AdapterHarness,
  approvalView,
  startAdapterHarness,
} from "./support/adapter-harness.ts";
import { type FakeDiscord, startFakeDiscord } from "./support/fake-discord.ts";

const keys = makeKeyPair();
const GUILD = "290926798626357999";
const CHANNEL = "1100000000000000001";
const MASON = "53908232506183680";

describe("Discord approval controls", () => {
  let discord: FakeDiscord;
  let h: AdapterHarness;
  let startAnswer: AdapterHarness["answer"];
  const conversation = { team: GUILD, channel: CHANNEL };

  before(async () => {
    discord = await startFakeDiscord({ botToken: BOT_TOKEN });
    h = await startAdapterHarness("discord", {
      DISCORD_PUBLIC_KEY: keys.publicKeyHex,
      DISCORD_BOT_TOKEN: BOT_TOKEN,
      DISCORD_APPLICATION_ID: APPLICATION_ID,
      DISCORD_API_URL: discord.url,
    });
    startAnswer = h.answer;
  });
  after(async () => {
    await h?.close();
    await discord?.close();
  });

  async function request(id: string) {
    const r = await h.send(
      { kind: "approval_request", approval: approvalView({ id }) },
      { conversation },
    );
    return { msg: discord.messages.at(-1)!, postId: r?.postId };
  }

  test("the request is a channel message with Approve and Deny buttons whose custom_id carries the approval id", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000031";
    const { msg, postId } = await request(id);
    assert.equal(msg.via, "channel");
    assert.equal(msg.channel, CHANNEL);
    assert.equal(postId, msg.id);
    assert.match(msg.content, /delete\\_branch/, "markdown escaped");
    assert.deepEqual(msg.body.allowed_mentions, { parse: [] });
    const buttons = msg.body.components[0].components;
    assert.deepEqual(
      buttons.map((b: any) => [b.type, b.style, b.label, b.custom_id]),
      [
        [2, 3, "Approve", `approval:approve:${id}`],
        [2, 4, "Deny", `approval:deny:${id}`],
      ],
    );
  });

  test("a press is decided and answered with a deferred update; the request is then edited, its buttons removed", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000032";
    const { msg, postId } = await request(id);
    const n = h.decisions.length;
    const r = await postInteraction(
      h.url,
      buttonPress({ customId: `approval:approve:${id}`, messageId: msg.id, channel: CHANNEL }),
      keys,
    );
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { type: 6 });
    assert.deepEqual(h.decisions.slice(n), [
      {
        approvalId: id,
        decision: "approve",
        conversation: { team: GUILD, channel: CHANNEL },
        actor: { id: MASON, displayName: "Mason", isBot: false },
      },
    ]);
    await h.send(
      {
        kind: "approval_decided",
        approval: approvalView({ id, status: "approved", decidedBy: `discord:${MASON}` }),
        requestPost: postId!,
      },
      { conversation },
    );
    const edit = discord.edits.at(-1)!;
    assert.equal(edit.id, msg.id);
    assert.equal(edit.body.content, `✅ Approved by discord:${MASON}: delete\\_branch`);
    assert.deepEqual(edit.body.components, []);
  });

  test("deny; a second press gets the first decision, a foreign one a refusal, both ephemeral", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000033";
    const { msg } = await request(id);
    const press = (decision: string, channel = CHANNEL) =>
      postInteraction(
        h.url,
        buttonPress({
          customId: `approval:${decision}:${id}`,
          messageId: msg.id,
          channel,
          userId: "80351110224678912",
        }),
        keys,
      );
    assert.deepEqual((await press("deny")).body, { type: 6 });
    assert.equal(h.decisions.at(-1)!.decision, "deny");
    h.answer = () => ({
      outcome: "already_decided",
      approval: approvalView({ id, status: "denied", decidedBy: `discord:${MASON}` }),
    });
    const second = await press("approve");
    assert.equal(second.body.type, 4);
    assert.equal(second.body.data.flags, 64);
    assert.equal(
      second.body.data.content,
      `Already decided. ❌ Denied by discord:${MASON}: delete\\_branch`,
    );
    h.answer = () => ({ outcome: "forbidden" });
    const foreign = await press("approve", "1100000000000000999");
    assert.equal(foreign.body.data.flags, 64);
    assert.match(foreign.body.data.content, /Only the members/);
    assert.equal(h.decisions.at(-1)!.conversation.channel, "1100000000000000999");
    h.answer = startAnswer;
  });

  test("presses are verified like every interaction: a bad or missing signature is 401 and decides nothing", async () => {
    const n = h.decisions.length;
    const p = buttonPress({
      customId: "approval:approve:0190f1d2-0000-7000-8000-000000000034",
      messageId: "1100000000000000002",
      channel: CHANNEL,
    });
    const other = makeKeyPair();
    assert.equal((await postInteraction(h.url, p, other)).status, 401);
    assert.equal((await postInteraction(h.url, p, keys, { signature: null })).status, 401);
    assert.equal(
      (await postInteraction(h.url, p, keys, { ts: Math.floor(Date.now() / 1000) - 301 })).status,
      401,
    );
    assert.equal(h.decisions.length, n);
    const ok = await postInteraction(h.url, p, keys);
    assert.equal(ok.status, 200);
    assert.equal(h.decisions.length, n + 1);
  });

  test("another button gets an ephemeral 'not supported'; a component without a message is 400", async () => {
    const n = h.decisions.length;
    const r = await postInteraction(
      h.url,
      buttonPress({
        customId: "something_else",
        messageId: "1100000000000000003",
        channel: CHANNEL,
      }),
      keys,
    );
    assert.equal(r.body.type, 4);
    assert.match(r.body.data.content, /not supported/);
    const { message, ...bare } = buttonPress({
      customId: "approval:deny:x",
      messageId: "1",
      channel: CHANNEL,
    });
    void message;
    assert.equal((await postInteraction(h.url, bare, keys)).status, 400);
    assert.equal(h.decisions.length, n);
  });

  test("approval_decided without a request post is posted in the channel", async () => {
    const before = discord.messages.length;
    await h.send(
      { kind: "approval_decided", approval: approvalView({ status: "expired" }) },
      { conversation },
    );
    assert.equal(discord.messages.length, before + 1);
    assert.equal(discord.messages.at(-1)!.content, "⌛ Expired: delete\\_branch was not run");
  });
});
