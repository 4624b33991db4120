// Events the core emits as things happen (task.created/completed/failed, session.start/end,
// error) and events mapped from tool calls, received by a subscriber on 127.0.0.1.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { DEFAULT_TOOL_EVENTS, resolveEventName } from "../src/events/events.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

describe("resolveEventName (seed 003 mapping table)", () => {
  const cases: Array<[string, unknown, unknown, string | null]> = [
    ["audit_session_start", {}, null, "session.start"],
    ["audit_session_end", {}, null, "session.end"],
    ["task_create", { title: "x" }, null, "task.created"],
    ["task_create_batch", { tasks: [] }, null, "task.created"],
    ["task_update", { status: "done" }, null, "task.completed"],
    ["task_update", { status: "in_progress" }, null, null],
    ["task_update", { id: "t1" }, '{"status":"done"}', "task.completed"],
    ["task_update", { id: "t1" }, { status: "done" }, "task.completed"],
    ["task_update", undefined, "not json", null],
    ["task_sync_to_gsd", {}, null, "task.sync"],
    ["roadmap_export_to_gsd", {}, null, "roadmap.exported"],
    ["search_documents", {}, null, null],
    ["constructor", {}, null, null],
    ["toString", {}, null, null],
  ];
  for (const [tool, args, result, want] of cases) {
    test(`${tool} ${JSON.stringify(args)} ${JSON.stringify(result)} → ${want}`, () => {
      assert.equal(resolveEventName(tool, args, result), want);
    });
  }
  test("a custom table replaces the defaults", () => {
    const table = { ...DEFAULT_TOOL_EVENTS, deploy: "task.sync" as const };
    assert.equal(resolveEventName("deploy", {}, null, table), "task.sync");
    assert.equal(resolveEventName("deploy", {}, null), null);
  });
});

for (const backend of ALL_BACKENDS) {
  describe(`core event emission on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    let hook: CaptureServer;
    const subscribe = async (events: string[], path = "/events") => {
      const r = await t.api("POST", "/api/v1/webhooks", { url: `${hook.url}${path}`, events });
      assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
    };
    /** Requests whose body is event `name` and matches `pred`. */
    const got = (name: string, pred: (data: any) => boolean = () => true) =>
      hook.requests.filter((r) => r.json?.event === name && pred(r.json.data));
    const waitEvent = async (name: string, pred?: (data: any) => boolean, ms = 10_000) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const [first] = got(name, pred);
        if (first) return first;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no ${name} event arrived`);
    };

    before(async () => {
      hook = await startCaptureServer();
      t = await startTestApp({ backend, tuning: { pollMs: 50, deliveryScheduleMs: [20] } });
    });
    afterEach(async () => {
      await t.app.events.drain();
      for (const w of (await t.api("GET", "/api/v1/webhooks")).body) {
        await t.api("DELETE", `/api/v1/webhooks/${w.id}`);
      }
    });
    after(async () => {
      await t.close();
      await hook.close();
    });

    test("inject with run_agent: task.created, then task.completed with the result", async () => {
      await subscribe(["task.created", "task.completed", "task.failed"]);
      const sid = await t.session(`events-${backend}-1`);
      const inj = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "hello events",
        run_agent: true,
      });
      const taskId = inj.body.task_id;
      const created = await waitEvent("task.created", (d) => d.task_id === taskId);
      const completed = await waitEvent("task.completed", (d) => d.task_id === taskId);
      assert.deepEqual(created.json.data, { task_id: taskId, session_id: sid, bot_id: "default" });
      assert.deepEqual(completed.json.data, {
        task_id: taskId,
        session_id: sid,
        bot_id: "default",
        status: "complete",
        result: "echo: hello events",
      });
      assert.ok(created.receivedAt <= completed.receivedAt, "created before completed");
      assert.ok(completed.headers["webhook-id"]);
      assert.equal(got("task.failed", (d) => d.task_id === taskId).length, 0);

      t.llm.enqueue({ status: 400, body: { error: { message: "bad request" } } });
      const failing = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "fail please",
        run_agent: true,
      });
      const failed = await waitEvent("task.failed", (d) => d.task_id === failing.body.task_id);
      assert.equal(failed.json.data.status, "failed");
      assert.equal(typeof failed.json.data.error, "string");
      assert.ok(failed.json.data.error.length > 0);
    });

    test("session.start on create; session.end once on end, the second call answers the same", async () => {
      await subscribe(["session.start", "session.end"]);
      const sid = await t.session(`events-${backend}-2`);
      const start = await waitEvent("session.start", (d) => d.session_id === sid);
      assert.deepEqual(start.json.data, {
        session_id: sid,
        bot_id: "default",
        client_id: `events-${backend}-2`,
      });
      await t.session(`events-${backend}-2`); // existing: not a new start
      const end1 = await t.api("POST", `/api/v1/sessions/${sid}/end`);
      assert.equal(end1.status, 200);
      assert.equal(end1.body.session_id, sid);
      const ended = await waitEvent("session.end", (d) => d.session_id === sid);
      assert.equal(ended.json.data.ended_at, end1.body.ended_at);
      const end2 = await t.api("POST", `/api/v1/sessions/${sid}/end`);
      assert.deepEqual(end2.body, end1.body);
      assert.equal(
        (await t.api("GET", `/api/v1/sessions/${sid}`)).body.ended_at,
        end1.body.ended_at,
      );
      // A later session's end is the marker: a second session.end of `sid` would be in by then.
      const marker = await t.session(`events-${backend}-2-marker`);
      await t.api("POST", `/api/v1/sessions/${marker}/end`);
      await waitEvent("session.end", (d) => d.session_id === marker);
      await t.app.events.drain();
      assert.equal(got("session.end", (d) => d.session_id === sid).length, 1);
      assert.equal(got("session.start", (d) => d.session_id === sid).length, 1);
      assert.equal((await t.api("POST", "/api/v1/sessions/nope/end")).status, 404);
    });

    test("a mapped tool call emits its event (task_sync_to_gsd → task.sync)", async () => {
      await subscribe(["task.sync"]);
      t.app.tools.register({
        name: "task_sync_to_gsd",
        description: "Sync tasks",
        parameters: { type: "object", properties: { project: { type: "string" } } },
        execute: async (args: { project: string }) => ({ synced: 2, project: args.project }),
      });
      await t.api("PUT", "/api/v1/admin/bots/default", { tools: ["task_sync_to_gsd"] });
      try {
        const sid = await t.session(`events-${backend}-3`);
        t.llm.enqueue(
          { toolCalls: [{ name: "task_sync_to_gsd", args: { project: "p9" } }] },
          { text: "synced" },
        );
        const inj = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
          content: "sync please",
          run_agent: true,
        });
        const ev = await waitEvent("task.sync", (d) => d.task_id === inj.body.task_id);
        assert.deepEqual(ev.json.data, {
          task_id: inj.body.task_id,
          session_id: sid,
          tool_name: "task_sync_to_gsd",
          args: { project: "p9" },
          result: { synced: 2, project: "p9" },
        });
      } finally {
        await t.api("PUT", "/api/v1/admin/bots/default", { tools: [] });
      }
    });

    test("a non-event delivery going dead emits error; an event delivery's own death does not", async () => {
      await subscribe(["error"], "/errors");
      const broken = await startCaptureServer();
      broken.setResponder(() => ({ status: 400 }));
      try {
        const sid = await t.session(`events-${backend}-4`);
        const inj = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
          content: "deliver me",
          run_agent: true,
          dispatch_config: { type: "webhook", url: `${broken.url}/hook` },
        });
        const err = await waitEvent("error", (d) => d.task_id === inj.body.task_id);
        assert.equal(err.json.data.source, "delivery");
        assert.equal(err.json.data.target_type, "webhook");
        assert.equal(err.json.data.http_status, 400);
        assert.match(err.json.data.error, /HTTP 400/);

        // An event delivery's own death emits no error event (it could loop): a second
        // error subscriber answering 400 fails its delivery of an emitted error event until
        // the (short) schedule's attempts run out and it is dead. The worker reports the
        // outcome before the dead status is committed, so once the API shows it dead and
        // the emissions settled, an echo would be in the outbox: the dying subscription
        // would hold a second delivery (the echo's) besides the first.
        const dying = await t.api("POST", "/api/v1/webhooks", {
          url: `${broken.url}/errors`,
          events: ["error"],
        });
        assert.ok(dying.status === 201 || dying.status === 200, JSON.stringify(dying.body));
        const out = (await t.api("POST", "/api/v1/events", { event: "error", payload: { x: 1 } }))
          .body;
        const mine = out.deliveries.find((d: any) => d.webhook_id === dying.body.webhook.id);
        assert.ok(mine, JSON.stringify(out.deliveries));
        const end = Date.now() + 10_000;
        let status = mine.status;
        while (status !== "dead" && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 20));
          status = (await t.api("GET", `/api/v1/deliveries/${mine.delivery_id}`)).body.status;
        }
        assert.equal(status, "dead");
        await t.app.events.drain();
        const held = await t.api(
          "GET",
          `/api/v1/deliveries?subscription_id=${dying.body.webhook.id}`,
        );
        assert.equal(held.status, 200);
        assert.deepEqual(
          held.body.map((d: any) => d.id),
          [mine.delivery_id],
          "only the emitted event's delivery, no error event about its death",
        );
        assert.equal(
          got("error", (d) => d.delivery_id === mine.delivery_id).length,
          0,
          "the live subscriber got no error about it either",
        );
      } finally {
        hook.setResponder(() => undefined);
        await broken.close();
      }
    });
  });
}
