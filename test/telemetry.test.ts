/**
 * OpenTelemetry traces (issue 14, docs/observability.md), over real HTTP on 127.0.0.1: a
 * message signed with Standard Webhooks comes in through the generic webhook adapter, its
 * turn calls a tool and answers, the reply is delivered through the outbox to a capture
 * server; the fake OTLP receiver (test/support/fake-otlp.ts) gets ONE trace holding the
 * inbound request, the task run, the model calls, the tool call and the delivery, with
 * the GenAI semantic conventions' attribute names, and the outbound request carries the
 * delivery span's `traceparent`. Without an endpoint nothing is exported or stored.
 * On SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { postWebhookMessage, WEBHOOK_ADAPTER_SECRET } from "./fixtures/webhook-adapter.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import { type FakeOtlp, type ReceivedSpan, startFakeOtlp } from "./support/fake-otlp.ts";

const TUNING = { deliveryScheduleMs: [50, 50, 50], minBackoffAfterThrottleMs: 50, pollMs: 50 };
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;

/** POSTs a signed message to the webhook adapter. */
const sendIn = (t: TestApp, payload: unknown) => postWebhookMessage(t.url, payload);

/** The callback posts for `conversation`, once there is at least one. */
async function repliesTo(cb: CaptureServer, conversation: string): Promise<any[]> {
  const end = Date.now() + 10_000;
  for (;;) {
    const mine = cb.requests.filter((r) => r.json?.conversation === conversation);
    if (mine.length) return mine;
    if (Date.now() > end) throw new Error(`no reply for ${conversation}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Registers the test tool and gives it to the default bot. */
async function giveTool(t: TestApp, calls: unknown[]) {
  t.app.tools.register({
    name: "lookup_order",
    description: "Looks an order up",
    parameters: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
    execute: async (args: unknown) => {
      calls.push(args);
      return { id: (args as { id: string }).id, ships: "Monday" };
    },
  });
  const r = await t.api("PUT", "/api/v1/admin/bots/default", { tools: ["lookup_order"] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** The one span of `list` matching `pred`. */
function only(list: ReceivedSpan[], pred: (s: ReceivedSpan) => boolean, what: string) {
  const found = list.filter(pred);
  assert.equal(found.length, 1, `${what}: ${JSON.stringify(list.map((s) => s.name))}`);
  return found[0]!;
}

for (const backend of ALL_BACKENDS) {
  describe(`telemetry (${backend})`, runsOn(backend), () => {
    let otlp: FakeOtlp;
    let cb: CaptureServer;
    let llm: FakeLlm;
    before(async () => {
      otlp = await startFakeOtlp();
      cb = await startCaptureServer();
      llm = await startFakeLlm();
    });
    after(async () => {
      await cb?.close();
      await llm?.close();
      await otlp?.close();
    });

    test("one trace: signed inbound event → task → model and tool spans → delivery", async () => {
      const t = await startTestApp({
        backend,
        llm,
        tuning: TUNING,
        env: {
          WEBHOOK_ADAPTER_SECRET,
          WEBHOOK_ADAPTER_CALLBACK_URL: `${cb.url}/chat-callback`,
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
          OTEL_SERVICE_NAME: "switchyard-under-test",
          OTEL_BSP_SCHEDULE_DELAY: "50",
        },
      });
      let taskId: string;
      try {
        const calls: unknown[] = [];
        await giveTool(t, calls);
        llm.reset();
        llm.enqueue(
          {
            toolCalls: [{ name: "lookup_order", args: { id: "A-17" }, id: "call_lookup_1" }],
            usage: { prompt: 31, completion: 7 },
          },
          { text: "Order A-17 ships on Monday.", usage: { prompt: 52, completion: 9 } },
        );
        const conversation = `otel-${randomUUID()}`;
        const r = await sendIn(t, {
          conversation,
          user: { id: "u-1", name: "Ada" },
          text: "where is order A-17?",
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        taskId = r.body.task_id;
        const [reply] = await repliesTo(cb, conversation);
        assert.match(reply!.json.text, /A-17 ships on Monday/);
        assert.deepEqual(calls, [{ id: "A-17" }]);

        // The reply request carries its delivery span's context (W3C Trace Context).
        const header = String(reply!.headers.traceparent ?? "");
        const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(header);
        assert.ok(m, `traceparent header on the reply: ${header}`);
        const send = await otlp.waitForSpan((s) => s.spanId === m[2]);
        assert.equal(send.traceId, m[1]);
        assert.equal(send.name, "send webhook-adapter");
        assert.equal(send.attributes["switchyard.task.id"], taskId);
        assert.equal(send.attributes["switchyard.delivery.outcome"], "delivered");
        const trace = otlp.spans.filter((s) => s.traceId === send.traceId);
        const byId = new Map(trace.map((s) => [s.spanId, s]));

        const inbound = only(trace, (s) => s.kind === SERVER, "one inbound request span");
        assert.equal(inbound.name, "POST /integrations/webhook/in");
        assert.equal(inbound.parentSpanId, "", "the request starts the trace");
        assert.equal(inbound.attributes["http.request.method"], "POST");
        assert.equal(inbound.attributes["http.route"], "/integrations/webhook/in");
        assert.equal(inbound.attributes["http.response.status_code"], 200);
        assert.equal(inbound.service, "switchyard-under-test");

        const task = only(trace, (s) => s.name === "invoke_agent default", "one task span");
        assert.equal(task.parentSpanId, inbound.spanId, "the task runs under the request");
        assert.equal(task.attributes["switchyard.task.id"], taskId);
        assert.equal(task.attributes["gen_ai.operation.name"], "invoke_agent");

        const chats = trace.filter((s) => s.attributes["gen_ai.operation.name"] === "chat");
        assert.equal(chats.length, 2, "one model span per LLM call");
        // The bot's model spec is `provider:model`.
        const spec = t.app.config.SWITCHYARD_MODEL;
        const provider = spec.slice(0, spec.indexOf(":"));
        const model = spec.slice(spec.indexOf(":") + 1);
        for (const c of chats) {
          assert.equal(c.parentSpanId, task.spanId);
          assert.equal(c.kind, CLIENT);
          assert.equal(c.name, `chat ${model}`);
          assert.equal(c.attributes["gen_ai.provider.name"], provider);
          assert.equal(c.attributes["gen_ai.request.model"], model);
        }
        const [first, second] = chats.sort(
          (a, b) =>
            (a.attributes["gen_ai.usage.input_tokens"] as number) -
            (b.attributes["gen_ai.usage.input_tokens"] as number),
        );
        assert.deepEqual(first!.attributes["gen_ai.response.finish_reasons"], ["tool-calls"]);
        assert.equal(first!.attributes["gen_ai.usage.input_tokens"], 31);
        assert.equal(first!.attributes["gen_ai.usage.output_tokens"], 7);
        assert.deepEqual(second!.attributes["gen_ai.response.finish_reasons"], ["stop"]);
        assert.equal(second!.attributes["gen_ai.usage.input_tokens"], 52);
        assert.equal(second!.attributes["gen_ai.usage.output_tokens"], 9);

        const tool = only(trace, (s) => s.name === "execute_tool lookup_order", "one tool span");
        assert.equal(tool.parentSpanId, task.spanId);
        assert.equal(tool.attributes["gen_ai.operation.name"], "execute_tool");
        assert.equal(tool.attributes["gen_ai.tool.name"], "lookup_order");
        assert.equal(tool.attributes["gen_ai.tool.call.id"], "call_lookup_1");
        assert.equal(tool.statusCode, 0, "the tool did not fail");

        assert.equal(send.kind, PRODUCER);
        assert.equal(send.parentSpanId, task.spanId, "the delivery was queued by the task run");
        assert.equal(send.attributes["switchyard.delivery.target_type"], "webhook-adapter");
        // Every span of the trace hangs off the inbound request.
        for (const s of trace) {
          let at: ReceivedSpan | undefined = s;
          while (at?.parentSpanId) at = byId.get(at.parentSpanId);
          assert.equal(at?.spanId, inbound.spanId, `${s.name} reaches the request`);
        }
        // The trace context is stored with the rows (migration 0023).
        const k = t.app.store.db.kysely;
        const row = await k
          .selectFrom("tasks")
          .select("traceparent")
          .where("id", "=", taskId)
          .executeTakeFirstOrThrow();
        assert.equal(row.traceparent, `00-${inbound.traceId}-${inbound.spanId}-01`);
      } finally {
        await t.close();
      }
    });

    test("without OTEL_EXPORTER_OTLP_ENDPOINT nothing is exported, stored or sent", async () => {
      const before = otlp.requests;
      const t = await startTestApp({
        backend,
        llm,
        tuning: TUNING,
        env: {
          WEBHOOK_ADAPTER_SECRET,
          WEBHOOK_ADAPTER_CALLBACK_URL: `${cb.url}/chat-callback`,
        },
      });
      try {
        assert.equal(t.app.telemetry.enabled, false);
        await giveTool(t, []);
        llm.reset();
        llm.enqueue(
          { toolCalls: [{ name: "lookup_order", args: { id: "B-2" }, id: "call_b" }] },
          { text: "B-2 ships soon." },
        );
        const conversation = `off-${randomUUID()}`;
        // A caller's traceparent is not taken up either.
        const r = await sendIn(t, { conversation, user: { id: "u-2" }, text: "and B-2?" });
        assert.equal(r.status, 200);
        const [reply] = await repliesTo(cb, conversation);
        assert.equal(reply!.headers.traceparent, undefined, "no trace header goes out");
        const k = t.app.store.db.kysely;
        const task = await k
          .selectFrom("tasks")
          .select("traceparent")
          .where("id", "=", r.body.task_id)
          .executeTakeFirstOrThrow();
        assert.equal(task.traceparent, null);
        const d = await k
          .selectFrom("deliveries")
          .select("traceparent")
          .where("task_id", "=", r.body.task_id)
          .execute();
        assert.ok(d.length > 0);
        for (const row of d) assert.equal(row.traceparent, null);
      } finally {
        await t.close();
      }
      assert.equal(otlp.requests, before, "the receiver heard nothing");
    });
  });
}
