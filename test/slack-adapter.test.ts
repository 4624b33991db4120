/**
 * The Slack chat adapter (integrations/slack) over real HTTP on 127.0.0.1: Events API
 * requests signed as Slack signs them (test/fixtures/slack.ts, node:crypto) in; replies,
 * reactions and the find-own-post check out through the outbox to a fake Slack Web API
 * (test/support/fake-slack.ts). Signature checks, url_verification, threads, DMs, passive
 * memory, the bot's own messages, retries and redeliveries, a failing Slack, split, `/new`,
 * escaping, and a kill -9 of `switchyard serve` after Slack accepted a post. Both backends.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  appMentionEvent,
  BOT_USER_ID,
  DOCUMENTED_SIGNING_EXAMPLE,
  envelope,
  freshTs,
  messageChannelsEvent,
  messageImEvent,
  postSlackEvent,
  SLACK_BOT_TOKEN,
  SLACK_SIGNING_SECRET,
  slackSignature,
  TEAM_ID,
  urlVerification,
} from "./fixtures/slack.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import {
  ALL_BACKENDS,
  createTestDatabase,
  runsOn,
  type TestDatabase,
  tempDir,
} from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import { lastUserText } from "./support/fake-llm-script.ts";
import { type FakeSlack, startFakeSlack } from "./support/fake-slack.ts";
import {
  callApi,
  killServerProcesses,
  startServerProcess,
  testServerEnv,
} from "./support/serve-process.ts";

const TUNING = { deliveryScheduleMs: [50, 50, 50], minBackoffAfterThrottleMs: 50, pollMs: 50 };

const now = () => Math.floor(Date.now() / 1000);

/** POSTs `payload` to the Events API route at `base`, signed unless told otherwise. */
const sendEvent = postSlackEvent;

/** A mention in a fresh channel (or `over`), inside the envelope. */
function mention(over: Record<string, unknown> = {}, eventId?: string) {
  const ts = freshTs();
  return envelope(
    { ...appMentionEvent, channel: `C${freshTs().replace(".", "")}`, ts, event_ts: ts, ...over },
    eventId,
  );
}

/** Waits until every delivery of the task is final; returns them. */
async function deliveriesDone(t: TestApp, taskId: string): Promise<any[]> {
  await t.waitForTask(taskId);
  const until = Date.now() + 15_000;
  for (;;) {
    const list = (await t.api("GET", `/api/v1/deliveries?task_id=${taskId}&target_type=slack`))
      .body as any[];
    const reply = replyOf(list);
    if (reply && ["delivered", "dead"].includes(reply.status)) {
      if (!list.some((d) => d.status === "pending")) return list;
    }
    if (Date.now() > until) throw new Error(`deliveries of ${taskId}: ${JSON.stringify(list)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The reply delivery of a task: its target is the task's dispatch config (progress rows have no `type`). */
const replyOf = (list: any[]) => list.find((d) => d.target?.type === "slack");

test("the test signer reproduces Slack's documented signing example", () => {
  const ex = DOCUMENTED_SIGNING_EXAMPLE;
  assert.equal(slackSignature(ex.timestamp, ex.body, ex.secret), ex.signature);
});

for (const backend of ALL_BACKENDS) {
  describe(`Slack adapter (${backend})`, runsOn(backend), () => {
    let llm: FakeLlm;
    let slack: FakeSlack;
    let t: TestApp;
    const env = () => ({
      SLACK_SIGNING_SECRET,
      SLACK_BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
    });

    before(async () => {
      llm = await startFakeLlm();
      slack = await startFakeSlack({
        token: SLACK_BOT_TOKEN,
        botUserId: BOT_USER_ID,
        teamId: TEAM_ID,
      });
      t = await startTestApp({ backend, llm, env: env(), tuning: TUNING });
    });
    after(async () => {
      await t?.close();
      await slack?.close();
      await llm?.close();
    });

    const reset = () => {
      slack.reset();
      llm.reset();
    };

    test("signature: a good one passes; wrong, missing, stale and future ones get 401 and store nothing", async () => {
      reset();
      const ev = mention();
      const body = JSON.stringify(ev);
      const refused = [
        await sendEvent(t.url, ev, { signature: "v0=0000" }),
        await sendEvent(t.url, ev, { secret: "another-secret" }),
        await sendEvent(t.url, ev, { signature: null }),
        await sendEvent(t.url, ev, { ts: now() - 301 }),
        await sendEvent(t.url, ev, { ts: now() + 400 }),
        // A signature over other bytes (the body re-serialised) does not pass.
        await sendEvent(t.url, ev, { signature: slackSignature(now(), `${body} `) }),
      ];
      for (const r of refused) {
        assert.equal(r.status, 401, r.text);
        assert.ok(!r.text.includes(SLACK_SIGNING_SECRET));
      }
      const sessions = (await t.api("GET", "/api/v1/sessions?limit=200")).body;
      assert.ok(!JSON.stringify(sessions).includes(ev.event.channel), "nothing stored");
      assert.equal(llm.requests.length, 0);
      const ok = await sendEvent(t.url, ev);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.status, "run");
      await deliveriesDone(t, ok.body.task_id);
    });

    test("a signed body that is not JSON is 400; with no signing secret configured every request is 401", async () => {
      const ts = now();
      const res = await fetch(`${t.url}/integrations/slack/events`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-slack-request-timestamp": String(ts),
          "x-slack-signature": slackSignature(ts, "{not json"),
        },
        body: "{not json",
      });
      assert.equal(res.status, 400);
      const bare = await startTestApp({
        backend,
        llm,
        env: { SLACK_BOT_TOKEN, SLACK_API_URL: slack.apiUrl },
        tuning: TUNING,
      });
      try {
        const r = await sendEvent(bare.url, mention());
        assert.equal(r.status, 401, r.text);
        assert.equal((await sendEvent(bare.url, urlVerification)).status, 401);
      } finally {
        await bare.close();
      }
    });

    test("url_verification is answered with the challenge only after the signature passes", async () => {
      const unsigned = await sendEvent(t.url, urlVerification, { signature: null });
      assert.equal(unsigned.status, 401);
      assert.ok(!unsigned.text.includes(urlVerification.challenge));
      const wrong = await sendEvent(t.url, urlVerification, { secret: "nope" });
      assert.equal(wrong.status, 401);
      const ok = await sendEvent(t.url, urlVerification);
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { challenge: urlVerification.challenge });
    });

    test("a mention gets exactly one reply in its thread, with the delivery id in metadata and the bot's name and icon", async () => {
      reset();
      const put = await t.api("PUT", "/api/v1/admin/bots/default", {
        display_name: "Helper",
        avatar_url: "https://example.invalid/a.png",
        integration_config: {
          slack: { username: "River Bot", icon_url: "https://example.invalid/r.png" },
        },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const ev = mention();
      // The model answers once the hourglass is on (or after 5 s, which fails below): the
      // turn is running while progress shows, however slow the machine (a progress start
      // for a task already finished is rightly skipped).
      llm.setResponder(async (req) => {
        const until = Date.now() + 5000;
        while (slack.reactionsAdded.length === 0 && Date.now() < until) {
          await new Promise((res) => setTimeout(res, 10));
        }
        return { text: `echo: ${lastUserText(req.messages)}` };
      });
      const r = await sendEvent(t.url, ev);
      assert.equal(r.body.status, "run");
      const list = await deliveriesDone(t, r.body.task_id);
      llm.setResponder(null);
      const reply = replyOf(list);
      assert.equal(reply.status, "delivered");
      assert.equal(slack.posts.length, 1);
      const [p] = slack.posts;
      assert.equal(p!.channel, ev.event.channel);
      assert.equal(p!.thread_ts, ev.event.ts, "in the thread the mention starts");
      assert.equal(p!.text, "echo: is it everything a river should be?", "mention stripped");
      assert.deepEqual(p!.metadata, {
        event_type: "switchyard_reply",
        event_payload: { delivery_id: reply.id },
      });
      assert.equal(p!.username, "River Bot");
      assert.equal(p!.icon_url, "https://example.invalid/r.png");
      // The session is the thread's; the words reached the model as the user's.
      const s = (await t.api("GET", `/api/v1/sessions/${r.body.session_id}`)).body;
      assert.equal(s.client_id, `slack:${TEAM_ID}:${ev.event.channel}:${ev.event.ts}`);
      const sent = llm.requests.at(-1)!.messages as Array<{ role: string; content: unknown }>;
      assert.ok(sent.some((m) => m.role === "user" && JSON.stringify(m.content).includes("river")));
      // Progress: the hourglass went on the user's message, and came off after the reply.
      const key = `${ev.event.channel}/${ev.event.ts}/hourglass_flowing_sand`;
      assert.deepEqual(slack.reactionsAdded, [key]);
      assert.equal(slack.reactions.size, 0);
      // A mention inside that thread continues its session and answers in it.
      const inThread = mention({
        channel: ev.event.channel,
        thread_ts: ev.event.ts,
        text: `<@${BOT_USER_ID}> and then?`,
      });
      const r2 = await sendEvent(t.url, inThread);
      assert.equal(r2.body.session_id, r.body.session_id);
      await deliveriesDone(t, r2.body.task_id);
      assert.equal(slack.posts.length, 2);
      assert.equal(slack.posts[1]!.thread_ts, ev.event.ts);
      assert.ok(
        slack.reactionsAdded.includes(
          `${ev.event.channel}/${inThread.event.ts}/hourglass_flowing_sand`,
        ),
      );
      await t.api("PUT", "/api/v1/admin/bots/default", {
        display_name: null,
        avatar_url: null,
        integration_config: {},
      });
    });

    test("a DM needs no mention; the reply goes to the DM", async () => {
      reset();
      const ts = freshTs();
      const dm = `D${ts.replace(".", "")}`;
      const r = await sendEvent(
        t.url,
        envelope({ ...messageImEvent, channel: dm, ts, event_ts: ts }),
      );
      assert.equal(r.body.status, "run", r.text);
      await deliveriesDone(t, r.body.task_id);
      assert.equal(slack.posts.length, 1);
      assert.equal(slack.posts[0]!.channel, dm);
      assert.equal(slack.posts[0]!.thread_ts, undefined);
      assert.equal(slack.posts[0]!.text, "echo: Hello hello can you hear me?");
    });

    test("a channel message without a mention is ignored; with passive_memory it is stored without a turn", async () => {
      reset();
      const channel = `C${freshTs().replace(".", "")}`;
      const plain = (text: string) => {
        const ts = freshTs();
        return envelope({ ...messageChannelsEvent, channel, ts, event_ts: ts, text });
      };
      const ignored = await sendEvent(t.url, plain("Live long and prospect."));
      assert.equal(ignored.status, 200);
      assert.equal(ignored.body.status, "ignored");
      const ch = await t.api("POST", "/api/v1/admin/channels", {
        integration: "slack",
        team: TEAM_ID,
        channel,
        passive_memory: true,
      });
      assert.equal(ch.status, 201, JSON.stringify(ch.body));
      const stored = await sendEvent(t.url, plain("kept quietly"));
      assert.equal(stored.body.status, "stored");
      assert.equal(stored.body.task_id, null);
      const msgs = (await t.api("GET", `/api/v1/sessions/${stored.body.session_id}/messages`)).body;
      assert.ok(JSON.stringify(msgs).includes("kept quietly"));
      // The message copy of a mention is left to its app_mention event.
      const copy = await sendEvent(t.url, plain(`<@${BOT_USER_ID}> hello`));
      assert.equal(copy.body.status, "skipped");
      assert.equal(llm.requests.length, 0, "no turn");
      assert.equal(slack.posts.length, 0);
    });

    test("the bot's own messages and other bots' are ignored", async () => {
      reset();
      const ts = freshTs();
      const dm = `D${ts.replace(".", "")}`;
      const own = await sendEvent(
        t.url,
        envelope({ ...messageImEvent, channel: dm, ts, user: BOT_USER_ID, text: "echo: hi" }),
      );
      assert.equal(own.body.status, "ignored");
      // Without `authorizations` the bot knows itself from auth.test at start.
      const bare = envelope({ ...messageImEvent, channel: dm, ts: freshTs(), user: BOT_USER_ID });
      const ownBare = await sendEvent(t.url, { ...bare, authorizations: undefined });
      assert.equal(ownBare.body.status, "ignored");
      const other = await sendEvent(
        t.url,
        envelope({ ...messageImEvent, channel: dm, ts: freshTs(), bot_id: "B999", text: "beep" }),
      );
      assert.equal(other.body.status, "ignored");
      const sub = await sendEvent(
        t.url,
        envelope({
          ...messageImEvent,
          channel: dm,
          ts: freshTs(),
          subtype: "bot_message",
          user: undefined,
          bot_id: "B998",
        }),
      );
      assert.equal(sub.body.status, "ignored");
      assert.equal(llm.requests.length, 0);
    });

    test("a Slack retry of the same event (X-Slack-Retry-Num) answers 200 and runs one turn", async () => {
      reset();
      const ev = mention();
      const first = await sendEvent(t.url, ev);
      const again = await sendEvent(t.url, ev, { retryNum: 1 });
      assert.equal(again.status, 200);
      assert.equal(again.body.status, "duplicate");
      assert.equal(again.body.task_id, first.body.task_id);
      await deliveriesDone(t, first.body.task_id);
      assert.equal(llm.requests.length, 1);
      assert.equal(slack.posts.length, 1);
    });

    test("Slack answering 500 once still gives exactly one reply", async () => {
      reset();
      slack.failNext("chat.postMessage", 500);
      const ev = mention();
      const r = await sendEvent(t.url, ev);
      const reply = replyOf(await deliveriesDone(t, r.body.task_id));
      assert.equal(reply.status, "delivered");
      assert.ok(reply.attempts >= 2);
      assert.equal(slack.calls.filter((c) => c.method === "chat.postMessage").length, 2);
      assert.equal(slack.posts.length, 1);
      assert.ok(
        slack.calls.some((c) => c.method === "conversations.replies"),
        "looked for its own post before sending again",
      );
    });

    test("a final Slack error (invalid_auth) is not retried: the reply is dead after one attempt", async () => {
      reset();
      slack.failNext("chat.postMessage", 200, "invalid_auth");
      const r = await sendEvent(t.url, mention());
      const reply = replyOf(await deliveriesDone(t, r.body.task_id));
      assert.equal(reply.status, "dead");
      assert.equal(reply.attempts, 1);
      assert.match(reply.last_error ?? "", /invalid_auth/);
      assert.equal(slack.posts.length, 0);
    });

    test("a long reply is split below Slack's limit, parts in order in the thread, each with its own id", async () => {
      reset();
      const words = Array.from({ length: 900 }, (_, i) => `word${i}`);
      llm.enqueue({ text: words.join(" ") });
      const ev = mention();
      const r = await sendEvent(t.url, ev);
      const reply = replyOf(await deliveriesDone(t, r.body.task_id));
      assert.ok(slack.posts.length > 1, "split");
      for (const p of slack.posts) {
        assert.ok(p.text.length <= 3000, `part of ${p.text.length}`);
        assert.equal(p.thread_ts, ev.event.ts);
      }
      assert.equal(slack.posts.map((p) => p.text).join(" "), words.join(" "));
      assert.deepEqual(
        slack.posts.map((p) => p.metadata.event_payload.delivery_id),
        slack.posts.map((_, i) => `${reply.id}-${i + 1}`),
      );
    });

    test("'new' after a mention, or /new in a DM, starts a fresh session", async () => {
      reset();
      const ev = mention();
      const first = await sendEvent(t.url, ev);
      await deliveriesDone(t, first.body.task_id);
      const fresh = await sendEvent(
        t.url,
        mention({
          channel: ev.event.channel,
          thread_ts: ev.event.ts,
          text: `<@${BOT_USER_ID}> new`,
        }),
      );
      assert.equal(fresh.body.status, "new_session", fresh.text);
      assert.notEqual(fresh.body.session_id, first.body.session_id);
      const old = (await t.api("GET", `/api/v1/sessions/${first.body.session_id}`)).body;
      assert.ok(old.ended_at);
      const notice = (await slack.waitForPosts(2)).at(-1)!;
      assert.equal(notice.text, "Started a new session.");
      assert.equal(notice.thread_ts, ev.event.ts);
      // In a DM.
      const ts = freshTs();
      const dm = `D${ts.replace(".", "")}`;
      const a = await sendEvent(t.url, envelope({ ...messageImEvent, channel: dm, ts }));
      await deliveriesDone(t, a.body.task_id);
      const b = await sendEvent(
        t.url,
        envelope({ ...messageImEvent, channel: dm, ts: freshTs(), text: "/new" }),
      );
      assert.equal(b.body.status, "new_session");
      assert.notEqual(b.body.session_id, a.body.session_id);
      const dmNotice = (await slack.waitForPosts(4)).at(-1)!;
      assert.deepEqual([dmNotice.channel, dmNotice.text], [dm, "Started a new session."]);
    });

    test("reply text is escaped for mrkdwn: no mentions or links of the model's own", async () => {
      reset();
      llm.enqueue({ text: "a < b & c > d <@U123> <!channel> <https://x.invalid|click>" });
      const ev = mention();
      const r = await sendEvent(t.url, ev);
      await deliveriesDone(t, r.body.task_id);
      assert.equal(
        slack.posts.find((p) => p.channel === ev.event.channel)?.text,
        "a &lt; b &amp; c &gt; d &lt;@U123&gt; &lt;!channel&gt; &lt;https://x.invalid|click&gt;",
      );
    });

    test("a redelivery after a restart runs no second turn", async () => {
      reset();
      const db = await createTestDatabase(backend);
      const llm2 = await startFakeLlm();
      try {
        const ev = mention();
        let first: Awaited<ReturnType<typeof sendEvent>>;
        {
          const a = await startTestApp({
            backend,
            llm: llm2,
            env: env(),
            tuning: TUNING,
            keepDb: db,
          });
          first = await sendEvent(a.url, ev);
          assert.equal(first.body.status, "run");
          await deliveriesDone(a, first.body.task_id);
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
          const again = await sendEvent(b.url, ev, { retryNum: 2 });
          assert.equal(again.status, 200);
          assert.equal(again.body.status, "duplicate");
          assert.equal(again.body.task_id, first.body.task_id);
          assert.equal(llm2.requests.length, 1);
          assert.equal(slack.posts.length, 1);
        } finally {
          await b.app.stop();
        }
      } finally {
        await llm2.close();
        await db.drop();
      }
    });
  });

  describe(`Slack adapter across kill -9 (${backend})`, runsOn(backend), () => {
    const KEY = "slack-crash-key-0123456789";
    let llm: FakeLlm;
    let slack: FakeSlack;
    let db: TestDatabase;
    const dir = tempDir();

    before(async () => {
      llm = await startFakeLlm();
      slack = await startFakeSlack({
        token: SLACK_BOT_TOKEN,
        botUserId: BOT_USER_ID,
        teamId: TEAM_ID,
      });
      db = await createTestDatabase(backend);
    });
    after(async () => {
      await killServerProcesses();
      await llm.close();
      await slack.close();
      await db.drop();
      dir.remove();
    });

    const start = () =>
      startServerProcess({
        ...testServerEnv({
          dataDir: dir.path,
          databaseUrl: db.url,
          llmBaseUrl: llm.baseUrl,
          apiKey: KEY,
        }),
        SWITCHYARD_LOG_LEVEL: "warn",
        SWITCHYARD_DELIVERY_LEASE_SECONDS: "2",
        SLACK_SIGNING_SECRET,
        SLACK_BOT_TOKEN,
        SLACK_API_URL: slack.apiUrl,
      });

    test("a post Slack accepted before the crash is found after the restart, not posted twice", async () => {
      let s = await start();
      const held = slack.holdNext("chat.postMessage");
      const ev = mention();
      const r = await sendEvent(s.url, ev);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.status, "run");
      await held; // Slack stored the post; its answer never reaches this server.
      assert.equal(slack.posts.length, 1);
      await s.kill();

      s = await start();
      const until = Date.now() + 30_000;
      let reply: any;
      for (;;) {
        const list = (
          await callApi(
            s.url,
            KEY,
            "GET",
            `/api/v1/deliveries?task_id=${r.body.task_id}&target_type=slack`,
          )
        ).body as any[];
        reply = replyOf(list);
        if (reply?.status === "delivered" || reply?.status === "dead") break;
        assert.ok(Date.now() < until, `reply still ${JSON.stringify(reply)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(reply.status, "delivered");
      assert.ok(reply.attempts >= 2, "the crashed attempt counted");
      assert.equal(slack.posts.length, 1, "exactly one post");
      assert.ok(
        slack.calls.some((c) => c.method === "conversations.replies"),
        "looked for its post",
      );
      assert.equal(slack.posts[0]!.metadata.event_payload.delivery_id, reply.id);
      slack.release();
      await s.kill();
    });
  });
}
