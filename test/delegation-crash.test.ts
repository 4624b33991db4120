/**
 * Delegation across a crash (issue 14, "what must be shown"): a real `switchyard serve` is
 * killed with SIGKILL after the child task finished, while the result's post into the
 * parent's channel is in flight (the receiver holds it unanswered), and restarted on the
 * same database. The post is sent again under the same delivery id (so the receiver sees
 * one post), and the parent's follow-up turn runs exactly once. SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crashHarness } from "./support/crash-harness.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { lastUserText } from "./support/fake-llm-script.ts";
import { callApi } from "./support/serve-process.ts";
import { waitFor } from "./support/wait.ts";

const KEY = "delegation-crash-key-0123456789";

for (const backend of ALL_BACKENDS) {
  describe(`delegation across kill -9 on ${backend}`, runsOn(backend), () => {
    const h = crashHarness(backend, {
      apiKey: KEY,
      env: {
        SWITCHYARD_TASK_LEASE_SECONDS: "3",
        SWITCHYARD_DELIVERY_LEASE_SECONDS: "2",
        SWITCHYARD_DELIVERY_SCHEDULE_SECONDS: "0.2,0.2,0.2",
      },
    });
    const start = () => h.start();

    test("the child's result is posted once and the parent's follow-up runs once", async () => {
      h.llm.setResponder((r) => {
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
      // The first post of the result is held unanswered: the server dies not knowing its outcome.
      let held = false;
      h.hook.setResponder((req) => {
        if (typeof req.json?.message === "string" && !held) {
          held = true;
          return { delayMs: 120_000 };
        }
        return undefined;
      });
      let s = await start();
      const api = (method: string, path: string, body?: unknown) =>
        callApi(s.url, KEY, method, path, body);
      assert.equal(
        (
          await api("POST", "/api/v1/admin/bots", {
            id: "helper",
            system_prompt: "You are the helper.",
            display_name: "Helper Bot",
          })
        ).status,
        201,
      );
      const sid = (
        await api("POST", "/api/v1/sessions", {
          client_id: `crash-parent-${backend}`,
          dispatch_config: { type: "webhook", url: `${h.hook.url}/parent` },
        })
      ).body.session_id as string;
      const parentId = (
        await api("POST", `/api/v1/sessions/${sid}/messages`, {
          content: "ask the helper",
          run_agent: true,
          execution_config: { tools: ["delegate"] },
        })
      ).body.task_id as string;

      const first = await waitFor(
        () => h.hook.requests.find((r) => typeof r.json?.message === "string"),
        "the result's post to reach the parent's channel",
      );
      await s.kill();
      const childId = first.json.task_id as string;
      const deliveryId = first.headers["webhook-id"];
      assert.ok(deliveryId, "the post carries its delivery id");
      assert.equal(
        h.llm.requests.filter((r) => lastUserText(r.messages).startsWith("[Task ")).length,
        0,
        "no follow-up before the post succeeded",
      );

      s = await start();
      const followUp = await waitFor(async () => {
        const all = (await api("GET", `/api/v1/tasks?session_id=${sid}`)).body.items as any[];
        const f = all.find((x) => x.id !== parentId);
        return f?.status === "complete" ? f : undefined;
      }, "the parent's follow-up turn after the restart");
      assert.equal(followUp.result, "helper says 42");
      const row = await waitFor(async () => {
        const rows = (await api("GET", `/api/v1/deliveries?task_id=${childId}`)).body;
        const d = (rows.items ?? rows).find((x: any) => x.target_type === "delegation_result");
        return d?.status === "delivered" ? d : undefined;
      }, "the delegation row's outcome");
      assert.equal(row.id, deliveryId);
      assert.ok(row.attempts >= 2, "sent again after the crash");

      const posts = h.hook.requests.filter((r) => typeof r.json?.message === "string");
      assert.ok(posts.length >= 2, "the unanswered post was sent again");
      assert.deepEqual(
        [...new Set(posts.map((p) => p.headers["webhook-id"]))],
        [deliveryId],
        "one post by delivery id: the receiver drops the repeat",
      );
      const all = (await api("GET", `/api/v1/tasks?session_id=${sid}`)).body.items as any[];
      assert.equal(all.length, 2, "the parent task and one follow-up");
      assert.equal(
        h.llm.requests.filter((r) => lastUserText(r.messages).startsWith("[Task ")).length,
        1,
        "the follow-up turn called the model once",
      );
      assert.equal(
        h.llm.requests.filter((r) => lastUserText(r.messages) === "find X").length,
        1,
        "the child ran once",
      );
      const msgs = (await api("GET", `/api/v1/sessions/${sid}/messages`)).body;
      assert.equal(
        (msgs.items ?? msgs).filter((m: any) => m.metadata?.source === "delegation").length,
        1,
        "the result is stored once in the parent session",
      );
      await s.kill();
    });
  });
}
