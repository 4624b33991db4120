/**
 * Delegation from a chat conversation (issue 14): a Slack mention (signed as Slack signs,
 * test/fixtures/slack.ts) starts a turn whose bot delegates to another bot; the child's
 * result is posted in the same Slack thread through the adapter's dispatcher postMessage,
 * under the child bot's name and icon (the integration's user_attribution), with the
 * delivery id in the post's metadata, then the parent's follow-up reply. Fake Slack Web
 * API on 127.0.0.1; SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  appMentionEvent,
  BOT_USER_ID,
  envelope,
  freshTs,
  postSlackEvent,
  SLACK_BOT_TOKEN,
  SLACK_SIGNING_SECRET,
  TEAM_ID,
} from "./fixtures/slack.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import { lastUserText } from "./support/fake-llm-script.ts";
import { type FakeSlack, startFakeSlack } from "./support/fake-slack.ts";
import { waitFor } from "./support/wait.ts";

/** Polls until `fn` returns something other than undefined (15 s). */
const until = <T>(fn: () => Promise<T | undefined> | T | undefined, what: string) =>
  waitFor(fn, what, 15_000, 20);

for (const backend of ALL_BACKENDS) {
  describe(`delegation from a Slack thread (${backend})`, runsOn(backend), () => {
    let llm: FakeLlm;
    let slack: FakeSlack;
    let t: TestApp;
    before(async () => {
      llm = await startFakeLlm();
      slack = await startFakeSlack({
        token: SLACK_BOT_TOKEN,
        botUserId: BOT_USER_ID,
        teamId: TEAM_ID,
      });
      t = await startTestApp({
        backend,
        llm,
        env: { SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL: slack.apiUrl },
        tuning: { deliveryScheduleMs: [50, 50, 50], minBackoffAfterThrottleMs: 50, pollMs: 50 },
      });
    });
    after(async () => {
      await t?.close();
      await slack?.close();
      await llm?.close();
    });

    test("the child's result appears in the thread as the child bot, then the parent's follow-up", async () => {
      await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["delegate"],
        display_name: "Lead",
      });
      const made = await t.api("POST", "/api/v1/admin/bots", {
        id: "helper",
        system_prompt: "You are the helper.",
        display_name: "Helper Bot",
        avatar_url: "https://example.invalid/helper.png",
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      llm.setResponder((r) => {
        const sys = String(r.messages.find((m: any) => m.role === "system")?.content ?? "");
        if (sys.includes("helper")) return { text: "X is 42" };
        if (lastUserText(r.messages).startsWith("[Task ")) return { text: "helper says 42" };
        if (!r.messages.some((m: any) => m.role === "tool")) {
          return {
            toolCalls: [{ name: "delegate", args: { bot_id: "helper", prompt: "find X" } }],
          };
        }
        return { text: "asked helper" };
      });
      const ts = freshTs();
      const channel = `C${freshTs().replace(".", "")}`;
      const ev = envelope({ ...appMentionEvent, channel, ts, event_ts: ts });
      const res = await postSlackEvent(t.url, ev);
      assert.equal(res.status, 200);
      await until(() => (slack.posts.length >= 3 ? true : undefined), "three posts in the thread");
      const texts = slack.posts.map((p) => p.text);
      assert.deepEqual(
        [...texts].sort(),
        ["X is 42", "asked helper", "helper says 42"],
        JSON.stringify(slack.posts),
      );
      assert.ok(texts.indexOf("X is 42") < texts.indexOf("helper says 42"));
      for (const p of slack.posts) {
        assert.equal(p.channel, channel);
        assert.equal(p.thread_ts, ts, "in the mention's thread");
      }
      const result = slack.posts.find((p) => p.text === "X is 42")!;
      assert.equal(result.username, "Helper Bot", "attributed to the child bot");
      assert.equal(result.icon_url, "https://example.invalid/helper.png");
      assert.equal(slack.posts.find((p) => p.text === "helper says 42")!.username, "Lead");
      const childId = JSON.parse(
        (
          await t.api(
            "GET",
            `/api/v1/tasks/${(await t.api("GET", "/api/v1/tasks?bot=default")).body.items.at(-1).id}/tool_calls`,
          )
        ).body[0].result,
      ).task_id;
      const row = await until(async () => {
        const rows = (await t.api("GET", `/api/v1/deliveries?task_id=${childId}`)).body as any[];
        const d = rows.find((x) => x.target_type === "delegation_result");
        return d?.status === "delivered" ? d : undefined;
      }, "the delegation row");
      assert.deepEqual(result.metadata, {
        event_type: "switchyard_reply",
        event_payload: { delivery_id: row.id },
      });
      llm.setResponder(null);
    });
  });
}
