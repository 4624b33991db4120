/**
 * Approvals through the generic webhook chat adapter (integrations/webhook) over real HTTP:
 * the request reaches a fake receiver (a capture server) signed, with what it needs to
 * answer; the receiver's signed decision on `/integrations/webhook/approval` resumes the
 * turn; `approval_decided` follows with the request's webhook-id; only the approval's own
 * conversation may decide; a REST decision is shown in the chat too. SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { standardSignature, WEBHOOK_ADAPTER_SECRET } from "./fixtures/webhook-adapter.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

const TUNING = { deliveryScheduleMs: [50, 50, 50], minBackoffAfterThrottleMs: 50, pollMs: 50 };

/** POSTs a signed JSON body to one of the adapter's routes. */
async function signedPost(t: TestApp, path: string, payload: unknown, secret?: string) {
  const body = JSON.stringify(payload);
  const id = `msg_${randomUUID()}`;
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`${t.url}/integrations/webhook/${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(ts),
      "webhook-signature": standardSignature(id, ts, body, secret),
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as any };
}

for (const backend of ALL_BACKENDS) {
  describe(`approvals through the webhook adapter (${backend})`, runsOn(backend), () => {
    let cb: CaptureServer;
    let t: TestApp;
    const runs: unknown[] = [];
    before(async () => {
      cb = await startCaptureServer();
      t = await startTestApp({
        backend,
        env: {
          WEBHOOK_ADAPTER_SECRET,
          WEBHOOK_ADAPTER_CALLBACK_URL: `${cb.url}/chat-callback`,
        },
        tuning: TUNING,
      });
      t.app.tools.register({
        name: "send_invoice",
        description: "Sends an invoice",
        parameters: { type: "object", properties: { to: { type: "string" } }, required: ["to"] },
        execute: async (args: unknown) => {
          runs.push(args);
          return "sent";
        },
      });
      await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["send_invoice"],
        approval: { default: "always" },
      });
    });
    after(async () => {
      await t?.close();
      await cb?.close();
    });

    /** The callback posts of `conversation` once `pred` holds for them (checked signed). */
    const posts = async (conversation: string, pred: (p: any[]) => boolean) => {
      const end = Date.now() + 10_000;
      for (;;) {
        const mine = cb.requests
          .filter((r) => r.json?.conversation === conversation)
          .map((r) => {
            const id = r.headers["webhook-id"] as string;
            const ts = Number(r.headers["webhook-timestamp"]);
            assert.equal(r.headers["webhook-signature"], standardSignature(id, ts, r.body));
            return { ...r.json, webhook_id: id };
          });
        if (pred(mine)) return mine;
        if (Date.now() > end) throw new Error(`callback posts: ${JSON.stringify(mine)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const start = async (conversation: string, to: string, reply: string) => {
      t.llm.reset();
      t.llm.enqueue({ toolCalls: [{ name: "send_invoice", args: { to } }] }, { text: reply });
      const r = await signedPost(t, "in", {
        conversation,
        user: { id: "u-1", name: "Ada" },
        text: `invoice ${to}`,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const [req] = await posts(conversation, (p) => p.some((x) => x.type === "approval_request"));
      return { taskId: r.body.task_id as string, req };
    };

    test("request shown at the receiver; its signed approval resumes the turn; the decision is posted", async () => {
      runs.length = 0;
      const conv = `inv-${randomUUID()}`;
      const { taskId, req } = await start(conv, "acme", "Invoice sent to acme.");
      assert.equal(req.type, "approval_request");
      assert.equal(req.task_id, taskId);
      assert.equal(req.approval.tool, "send_invoice");
      assert.deepEqual(req.approval.args, { to: "acme" });
      assert.equal(req.approval.status, "pending");
      assert.ok(Date.parse(req.approval.expires_at) > Date.now());
      assert.deepEqual(req.answer, {
        path: "/integrations/webhook/approval",
        decisions: ["approve", "deny"],
      });
      assert.equal(runs.length, 0);

      const d = await signedPost(t, "approval", {
        approval_id: req.approval.id,
        decision: "approve",
        conversation: conv,
        user: { id: "boss", name: "Boss" },
      });
      assert.equal(d.status, 200, JSON.stringify(d.body));
      assert.equal(d.body.outcome, "decided");
      assert.equal(d.body.approval.decided_by, "webhook-adapter:boss");

      const all = await posts(conv, (p) => p.some((x) => x.text === "Invoice sent to acme."));
      const decided = all.find((x) => x.type === "approval_decided");
      assert.equal(decided.approval.status, "approved");
      assert.equal(decided.request_post, req.webhook_id, "names the request it answers");
      assert.deepEqual(runs, [{ to: "acme" }]);

      const again = await signedPost(t, "approval", {
        approval_id: req.approval.id,
        decision: "deny",
        conversation: conv,
        user: { id: "boss" },
      });
      assert.equal(again.status, 409);
      assert.equal(again.body.outcome, "already_decided");
      assert.equal(again.body.approval.status, "approved");
      assert.equal((await t.waitForTask(taskId)).status, "complete");
      assert.equal(runs.length, 1);
    });

    test("only the approval's conversation may decide; a deny from it reaches the model", async () => {
      runs.length = 0;
      const conv = `deny-${randomUUID()}`;
      const { taskId, req } = await start(conv, "evil", "Not sent.");
      const other = await signedPost(t, "approval", {
        approval_id: req.approval.id,
        decision: "approve",
        conversation: `elsewhere-${randomUUID()}`,
        user: { id: "mallory" },
      });
      assert.equal(other.status, 403);
      assert.equal(other.body.outcome, "forbidden");
      const still = await t.api("GET", `/api/v1/approvals/${req.approval.id}`);
      assert.equal(still.body.status, "pending");
      const unsigned = await signedPost(
        t,
        "approval",
        {
          approval_id: req.approval.id,
          decision: "approve",
          conversation: conv,
          user: { id: "x" },
        },
        `whsec_${Buffer.from("not-the-secret-0123456789").toString("base64")}`,
      );
      assert.equal(unsigned.status, 401);
      const bad = await signedPost(t, "approval", { approval_id: req.approval.id, decision: "ok" });
      assert.equal(bad.status, 400);

      const d = await signedPost(t, "approval", {
        approval_id: req.approval.id,
        decision: "deny",
        reason: "not a customer",
        conversation: conv,
        user: { id: "boss" },
      });
      assert.equal(d.status, 200);
      await posts(conv, (p) => p.some((x) => x.text === "Not sent."));
      assert.equal(runs.length, 0);
      const toolMsg = t.llm.requests[1]!.messages.find((m: any) => m.role === "tool");
      assert.match(JSON.stringify(toolMsg.content), /not a customer/);
      assert.equal((await t.waitForTask(taskId)).status, "complete");
    });

    test("a decision made through REST is posted to the conversation too", async () => {
      runs.length = 0;
      const conv = `rest-${randomUUID()}`;
      const { req } = await start(conv, "rest-co", "Sent via REST approval.");
      const d = await t.api("POST", `/api/v1/approvals/${req.approval.id}`, {
        decision: "approve",
      });
      assert.equal(d.status, 200);
      const all = await posts(conv, (p) => p.some((x) => x.text === "Sent via REST approval."));
      const decided = all.find((x) => x.type === "approval_decided");
      assert.equal(decided.approval.decided_by, "SWITCHYARD_API_KEY");
      assert.equal(decided.request_post, req.webhook_id);
      const row = await t.api("GET", `/api/v1/approvals/${req.approval.id}`);
      assert.equal(row.body.request_post, req.webhook_id);
      assert.equal(runs.length, 1);
    });
  });
}
