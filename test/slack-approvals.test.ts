/**
 * The Slack adapter's approval controls on their own (test/support/adapter-harness.ts, no
 * database): the request posted with two buttons to a fake Slack Web API, a button press
 * arriving as a signed `block_actions` interaction (test/fixtures/slack-interactions.ts)
 * reaching the decider with the conversation and the presser, the presser told when the
 * press did not resolve anything, and the request post updated with the decision.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  BOT_USER_ID,
  SLACK_BOT_TOKEN,
  SLACK_SIGNING_SECRET,
  TEAM_ID,
  USER_ID,
} from "./fixtures/slack.ts";
import { blockActions, sendInteraction } from "./fixtures/slack-interactions.ts";
import {
  type AdapterHarness,
  approvalView,
  startAdapterHarness,
} from "./support/adapter-harness.ts";
import { type FakeSlack, startFakeSlack } from "./support/fake-slack.ts";

const CHANNEL = "C0APPROVAL";
const THREAD = "1712000000.000100";

describe("Slack approval controls", () => {
  let slack: FakeSlack;
  let h: AdapterHarness;

  before(async () => {
    slack = await startFakeSlack({
      token: SLACK_BOT_TOKEN,
      botUserId: BOT_USER_ID,
      teamId: TEAM_ID,
    });
    h = await startAdapterHarness("slack", {
      SLACK_SIGNING_SECRET,
      SLACK_BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
    });
  });
  after(async () => {
    await h?.close();
    await slack?.close();
  });

  const conversation = { team: TEAM_ID, channel: CHANNEL, thread: THREAD };

  /** Posts a request; returns its post and the post id send returned. */
  /** A signed press of an approval's `decision` button on the request post `messageTs` in the thread. */
  function press(decision: "approve" | "deny", id: string, messageTs: string, user?: string) {
    return sendInteraction(
      h.url,
      blockActions({
        actionId: `approval:${decision}:${id}`,
        channel: CHANNEL,
        messageTs,
        threadTs: THREAD,
        ...(user ? { user } : {}),
      }),
    );
  }

  async function request(id: string) {
    const before = slack.posts.length;
    const r = await h.send(
      { kind: "approval_request", approval: approvalView({ id }) },
      { conversation },
    );
    const post = slack.posts[before]!;
    return { post, postId: r?.postId };
  }

  test("the request is posted in the thread with Approve and Deny buttons carrying the approval id", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000001";
    const { post, postId } = await request(id);
    assert.equal(post.channel, CHANNEL);
    assert.equal(post.thread_ts, THREAD);
    assert.equal(postId, `${CHANNEL}:${post.ts}`);
    assert.match(post.text, /delete_branch/);
    // Arguments are escaped for mrkdwn: a `<` in them cannot make a mention or a link.
    assert.match(post.text, /old-&lt;feature&gt;/);
    const actions = post.blocks?.find((b) => b.type === "actions");
    assert.ok(actions, JSON.stringify(post.blocks));
    assert.deepEqual(
      actions.elements.map((e: any) => [e.type, e.action_id, e.text.text]),
      [
        ["button", `approval:approve:${id}`, "Approve"],
        ["button", `approval:deny:${id}`, "Deny"],
      ],
    );
  });

  test("a press reaches the decider with the approval, the conversation and the presser; the request is then updated without its buttons", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000002";
    const { post, postId } = await request(id);
    const n = h.decisions.length;
    const res = await press("approve", id, post.ts);
    assert.equal(res.status, 200, res.text);
    const [d] = (await h.waitForDecisions(n + 1)).slice(n);
    assert.deepEqual(d, {
      approvalId: id,
      decision: "approve",
      conversation: { team: TEAM_ID, channel: CHANNEL, thread: THREAD },
      actor: { id: USER_ID, displayName: "jtorrance", isBot: false },
    });
    await h.send(
      {
        kind: "approval_decided",
        approval: approvalView({ id, status: "approved", decidedBy: `slack:${USER_ID}` }),
        requestPost: postId!,
      },
      { conversation },
    );
    const updated = slack.updates.at(-1)!;
    assert.equal(updated.ts, post.ts);
    assert.match(updated.text, new RegExp(`Approved by slack:${USER_ID}`));
    assert.ok(!updated.blocks?.some((b) => b.type === "actions"), "buttons gone");
    assert.equal(slack.posts.find((p) => p.ts === post.ts)!.text, updated.text);
    assert.equal(slack.ephemerals.length, 0, "a press that decided gets no extra note");
  });

  test("deny: the decision is deny, and the update says Denied", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000003";
    const { post, postId } = await request(id);
    const n = h.decisions.length;
    const res = await press("deny", id, post.ts);
    assert.equal(res.status, 200);
    const [d] = (await h.waitForDecisions(n + 1)).slice(n);
    assert.equal(d!.decision, "deny");
    await h.send(
      {
        kind: "approval_decided",
        approval: approvalView({
          id,
          status: "denied",
          decidedBy: `slack:${USER_ID}`,
          reason: "not now",
        }),
        requestPost: postId!,
      },
      { conversation },
    );
    assert.match(
      slack.updates.at(-1)!.text,
      /Denied by slack:U061F7AUR: `delete_branch` \(not now\)/,
    );
  });

  test("a press that did not decide is answered to the presser alone: the first decision, a refusal, or gone", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000004";
    const { post } = await request(id);
    const cases = [
      {
        result: {
          outcome: "already_decided" as const,
          approval: approvalView({ id, status: "approved" as const, decidedBy: "slack:U0FIRST" }),
        },
        want: /Already decided\. .*Approved by slack:U0FIRST/,
      },
      { result: { outcome: "forbidden" as const }, want: /Only the members/ },
      { result: { outcome: "not_found" as const }, want: /no longer exists/ },
    ];
    for (const c of cases) {
      h.answer = () => c.result;
      const before = slack.ephemerals.length;
      const res = await press("deny", id, post.ts, "U0SECOND");
      assert.equal(res.status, 200);
      await slack.waitFor(() => slack.ephemerals.length > before, 10_000, "an ephemeral answer");
      const e = slack.ephemerals.at(-1)!;
      assert.equal(e.user, "U0SECOND");
      assert.equal(e.channel, CHANNEL);
      assert.equal(e.thread_ts, THREAD);
      assert.match(e.text, c.want);
    }
    assert.equal(slack.updates.filter((u) => u.ts === post.ts).length, 0, "nothing edited");
    h.answer = startAnswer;
  });

  let startAnswer: AdapterHarness["answer"];
  before(() => {
    startAnswer = h.answer;
  });

  test("the press is acknowledged before the decision is made (Slack's 3 s), and the decision still follows", {
    timeout: 10_000,
  }, async () => {
    const id = "0190f1d2-0000-7000-8000-000000000007";
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let decided = false;
    h.answer = async (input) => {
      await gate;
      decided = true;
      return startAnswer(input);
    };
    try {
      const n = h.decisions.length;
      const started = performance.now();
      const res = await press("approve", id, "1712.000010");
      const ackMs = performance.now() - started;
      assert.equal(res.status, 200);
      assert.equal(decided, false, "answered while the decision was still open");
      await h.waitForDecisions(n + 1);
      release();
      await gate;
      console.log(`# slack interaction ack: ${ackMs.toFixed(1)} ms with the decision held open`);
    } finally {
      release();
      h.answer = startAnswer;
    }
  });

  test("a press in a top-level post carries no thread; a thread parent's own ts is not its thread", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000005";
    const n = h.decisions.length;
    await sendInteraction(
      h.url,
      blockActions({
        actionId: `approval:approve:${id}`,
        channel: "D0DIRECT",
        messageTs: "1712.000001",
      }),
    );
    await sendInteraction(
      h.url,
      blockActions({
        actionId: `approval:approve:${id}`,
        channel: "D0DIRECT",
        messageTs: "1712.000002",
        threadTs: "1712.000002",
      }),
    );
    const ds = (await h.waitForDecisions(n + 2)).slice(n);
    for (const d of ds) assert.deepEqual(d.conversation, { team: TEAM_ID, channel: "D0DIRECT" });
  });

  test("interactions are signed like events: wrong, missing, stale or foreign signatures get 401 and decide nothing", async () => {
    const id = "0190f1d2-0000-7000-8000-000000000006";
    const p = blockActions({
      actionId: `approval:approve:${id}`,
      channel: CHANNEL,
      messageTs: "1712.000003",
    });
    const n = h.decisions.length;
    const now = Math.floor(Date.now() / 1000);
    const refused = [
      await sendInteraction(h.url, p, { signature: "v0=00" }),
      await sendInteraction(h.url, p, { signature: null }),
      await sendInteraction(h.url, p, { secret: "another-secret" }),
      await sendInteraction(h.url, p, { ts: now - 301 }),
      await sendInteraction(h.url, p, { ts: now + 400 }),
    ];
    for (const r of refused) {
      assert.equal(r.status, 401, r.text);
      assert.ok(!r.text.includes(SLACK_SIGNING_SECRET));
    }
    // A signed request after them is decided: had any of the refused ones been decided, the
    // count would be past n + 1.
    const ok = await sendInteraction(h.url, p);
    assert.equal(ok.status, 200);
    await h.waitForDecisions(n + 1);
    assert.equal(h.decisions.length, n + 1);
    assert.equal(h.decisions.at(-1)!.conversation.channel, CHANNEL);
  });

  test("a signed body without a JSON payload is 400; other interactions are acknowledged and decide nothing", async () => {
    const bad = await sendInteraction(h.url, null, { body: "payload=%7Bnot-json" });
    assert.equal(bad.status, 400, bad.text);
    const none = await sendInteraction(h.url, null, { body: "nothing=here" });
    assert.equal(none.status, 400);
    const other = await sendInteraction(
      h.url,
      blockActions({ actionId: "some_other_button", channel: CHANNEL, messageTs: "1712.000004" }),
    );
    assert.equal(other.status, 200);
    assert.equal(other.body.status, "skipped");
    const shortcut = await sendInteraction(h.url, { type: "shortcut", callback_id: "x" });
    assert.equal(shortcut.body.status, "skipped");
  });

  test("approval_decided without a request post is posted in the conversation", async () => {
    const before = slack.posts.length;
    const r = await h.send(
      { kind: "approval_decided", approval: approvalView({ status: "expired" }) },
      { conversation },
    );
    assert.equal(slack.posts.length, before + 1);
    assert.match(slack.posts.at(-1)!.text, /Expired: `delete_branch` was not run/);
    assert.equal(slack.posts.at(-1)!.thread_ts, THREAD);
    assert.ok(r?.postId);
  });

  test("a stopped adapter answers 503 to a press", async () => {
    await h.adapter.stop();
    const r = await sendInteraction(
      h.url,
      blockActions({
        actionId: "approval:approve:x-1",
        channel: CHANNEL,
        messageTs: "1712.000005",
      }),
    );
    assert.equal(r.status, 503);
  });
});
