/**
 * The session service over real HTTP: `session.start` / `session.end` are written in the
 * transaction that creates or ends the session, on the one path shared by REST and an
 * integration's ctx, so a subscriber gets each exactly once whichever way the session came
 * to be; ctx throws the service's typed errors (`UnknownBotError`, `SessionNotFoundError`).
 * Runs on SQLite and, when configured, PostgreSQL.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";

/** An integration whose routes call ctx.getOrCreateSession / ctx.injectMessage. */
const ROUTER = `
const failure = (reply, err) =>
  reply.code(422).send({ name: err.name, bot_id: err.botId ?? null, message: err.message });
export default async function router(app, ctx) {
  app.post("/open", { config: { auth: "self" } }, async (req, reply) => {
    try {
      return await ctx.getOrCreateSession(req.body.client_id, { botId: req.body.bot_id });
    } catch (err) {
      return failure(reply, err);
    }
  });
  app.post("/say", { config: { auth: "self" } }, async (req, reply) => {
    try {
      return await ctx.injectMessage(req.body.session_id, "hello");
    } catch (err) {
      return failure(reply, err);
    }
  });
}
`;

for (const backend of ALL_BACKENDS) {
  describe(`session events and errors on ${backend}`, runsOn(backend), () => {
    const dir = tempDir("switchyard-sessions-");
    let t: TestApp;
    let hook: CaptureServer;
    let subscriptionId: string;

    /** The event deliveries written for `sessionId` (every one, whatever its status). */
    const eventRows = async (event: string, sessionId: string) =>
      (await t.app.store.deliveries.list({ subscriptionId, targetType: "event" })).filter(
        (d) => d.payload.event === event && (d.payload.data as any)?.session_id === sessionId,
      );
    /** Waits until every event delivery for `sessionId` is delivered; returns them. */
    const settled = async (event: string, sessionId: string) => {
      for (let i = 0; i < 500; i++) {
        const rows = await eventRows(event, sessionId);
        if (rows.length && rows.every((d) => d.status === "delivered")) return rows;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`${event} for ${sessionId} was not delivered`);
    };
    const received = (event: string, sessionId: string) =>
      hook.requests.filter((r) => r.json?.event === event && r.json.data.session_id === sessionId);
    const viaCtx = (path: string, body: unknown) =>
      t.api("POST", `/integrations/probe/${path}`, body, { key: null });

    before(async () => {
      hook = await startCaptureServer();
      mkdirSync(join(dir.path, "probe"), { recursive: true });
      writeFileSync(join(dir.path, "probe", "router.ts"), ROUTER);
      // No fallback poll to speak of: deliveries go out because the commit pokes the worker.
      t = await startTestApp({
        backend,
        env: { INTEGRATION_DIRS: dir.path },
        tuning: { pollMs: 600_000 },
      });
      const sub = await t.api("POST", "/api/v1/webhooks", {
        url: `${hook.url}/events`,
        events: ["session.start", "session.end"],
      });
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      subscriptionId = sub.body.webhook.id;
      const bot = await t.api("POST", "/api/v1/admin/bots", { id: "helper" });
      assert.equal(bot.status, 201, JSON.stringify(bot.body));
    });
    after(async () => {
      await t.close();
      await hook.close();
      dir.remove();
    });

    test("session.start reaches the subscriber exactly once, through REST and through ctx", async () => {
      const restClient = `rest-${backend}`;
      const first = await t.api("POST", "/api/v1/sessions", { client_id: restClient });
      assert.equal(first.status, 201);
      assert.equal(first.body.created, true);
      const again = await t.api("POST", "/api/v1/sessions", { client_id: restClient });
      assert.deepEqual(again.body, { session_id: first.body.session_id, created: false });

      const ctxClient = `ctx-${backend}`;
      const opened = await viaCtx("open", { client_id: ctxClient, bot_id: "helper" });
      assert.equal(opened.status, 200, JSON.stringify(opened.body));
      assert.equal(opened.body.created, true);
      const reopened = await viaCtx("open", { client_id: ctxClient, bot_id: "helper" });
      assert.deepEqual(reopened.body, { sessionId: opened.body.sessionId, created: false });

      const rest = await settled("session.start", first.body.session_id);
      const ctx = await settled("session.start", opened.body.sessionId);
      assert.equal(rest.length, 1, "one delivery for the REST session");
      assert.equal(ctx.length, 1, "one delivery for the ctx session");
      const [restGot] = received("session.start", first.body.session_id);
      const [ctxGot] = received("session.start", opened.body.sessionId);
      assert.equal(received("session.start", first.body.session_id).length, 1);
      assert.equal(received("session.start", opened.body.sessionId).length, 1);
      assert.deepEqual(restGot!.json.data, {
        session_id: first.body.session_id,
        bot_id: "default",
        client_id: restClient,
      });
      assert.deepEqual(ctxGot!.json.data, {
        session_id: opened.body.sessionId,
        bot_id: "helper",
        client_id: ctxClient,
      });
      assert.equal(ctxGot!.headers["webhook-id"], ctx[0]!.id);
    });

    test("ctx throws the typed errors: UnknownBotError with botId, SessionNotFoundError", async () => {
      const unknown = await viaCtx("open", { client_id: `ghost-${backend}`, bot_id: "ghost" });
      assert.equal(unknown.status, 422);
      assert.deepEqual(unknown.body, {
        name: "UnknownBotError",
        bot_id: "ghost",
        message: "Unknown bot: ghost",
      });
      const missing = await viaCtx("say", { session_id: "no-such-session" });
      assert.equal(missing.status, 422);
      assert.equal(missing.body.name, "SessionNotFoundError");
      // REST maps the same errors (an unknown bot is refused on meaning: 422).
      const rest = await t.api("POST", "/api/v1/sessions", { client_id: "x", bot_id: "ghost" });
      assert.deepEqual(rest, { status: 422, body: { detail: "Unknown bot: ghost" } });
      const msg = await t.api("POST", "/api/v1/sessions/no-such-session/messages", {
        content: "hi",
      });
      assert.deepEqual(msg, { status: 404, body: { detail: "Session not found" } });
    });

    test("the event rows commit with the change: there when the call returns, sent later", async () => {
      // With the delivery worker stopped nothing is sent, so only the commit can have
      // written the rows the test finds.
      await t.app.deliveryWorker.stop();
      try {
        const client = `committed-${backend}`;
        const created = await t.api("POST", "/api/v1/sessions", { client_id: client });
        assert.equal(created.status, 201);
        const sid = created.body.session_id;
        const start = await eventRows("session.start", sid);
        assert.equal(start.length, 1);
        assert.equal(start[0]!.status, "pending");
        assert.deepEqual(start[0]!.payload.data, {
          session_id: sid,
          bot_id: "default",
          client_id: client,
        });

        const ended = await t.api("POST", `/api/v1/sessions/${sid}/end`);
        assert.equal(ended.status, 200);
        const end = await eventRows("session.end", sid);
        assert.equal(end.length, 1);
        assert.equal(end[0]!.status, "pending");
        assert.deepEqual(end[0]!.payload.data, {
          session_id: sid,
          bot_id: "default",
          client_id: client,
          ended_at: ended.body.ended_at,
        });
        // A second end writes nothing more.
        await t.api("POST", `/api/v1/sessions/${sid}/end`);
        assert.equal((await eventRows("session.end", sid)).length, 1);
        assert.equal(received("session.start", sid).length, 0, "nothing sent yet");

        t.app.deliveryWorker.start();
        await settled("session.start", sid);
        await settled("session.end", sid);
        assert.equal(received("session.start", sid).length, 1);
        assert.equal(received("session.end", sid).length, 1);
      } finally {
        t.app.deliveryWorker.start();
      }
    });
  });
}
