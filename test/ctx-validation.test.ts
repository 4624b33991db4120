/**
 * Issue 11 item 8: the ctx path into a session validates as REST does and throws typed
 * errors an integration can map (`err.name`, `err.field`), instead of storing 42 as text,
 * accepting empty content or client ids, or storing NUL characters.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";

// A router that passes what it is sent straight to ctx and reports what ctx threw.
const ROUTER = `
export default async (app, ctx) => {
  app.post("/try", { config: { auth: "self" } }, async (req, reply) => {
    const b = req.body;
    try {
      const s = await ctx.getOrCreateSession(b.client_id, { botId: b.bot_id });
      if (!("content" in b)) return { session_id: s.sessionId };
      const content = b.nul ? "a\\u0000b" : b.content;
      const metadata = b.nul_meta ? { k: ["x", "y\\u0000"] } : b.metadata;
      const r = await ctx.injectMessage(s.sessionId, content, { metadata });
      return { message_id: r.messageId };
    } catch (err) {
      return reply.code(422).send({ name: err.name, field: err.field ?? null, message: err.message });
    }
  });
  app.post("/doc", { config: { auth: "self" } }, async (req, reply) => {
    const b = req.body;
    const nul = (s) => (typeof s === "string" ? s.replace("@", "\u0000") : s);
    try {
      const d = await ctx.ingestDocument({ title: nul(b.title), content: nul(b.content), metadata: b.nul_meta ? { k: "a\u0000" } : b.metadata });
      return { id: d.id };
    } catch (err) {
      return reply.code(422).send({ name: err.name, field: err.field ?? null, message: err.message });
    }
  });
};
`;

for (const backend of ALL_BACKENDS) {
  describe(`ctx validates like REST (${backend})`, runsOn(backend), () => {
    const dir = tempDir("switchyard-ctx-validation-");
    let t: TestApp;
    before(async () => {
      mkdirSync(join(dir.path, "probe"), { recursive: true });
      writeFileSync(join(dir.path, "probe", "router.ts"), ROUTER);
      t = await startTestApp({ backend, env: { INTEGRATION_DIRS: dir.path } });
    });
    after(async () => {
      await t.close();
      dir.remove();
    });

    const attempt = (body: Record<string, unknown>) =>
      t.api("POST", "/integrations/probe/try", body, { key: null });

    test("content that is not a string, or empty: InvalidInputError naming content; nothing stored", async () => {
      for (const [content, problem] of [
        [42, "must be a string"],
        ["", "must not be empty"],
      ] as const) {
        const r = await attempt({ client_id: "ctx-v", content });
        assert.equal(r.status, 422);
        assert.deepEqual(r.body, {
          name: "InvalidInputError",
          field: "content",
          message: `Invalid content: ${problem}`,
        });
      }
      const sid = (await attempt({ client_id: "ctx-v" })).body.session_id;
      assert.deepEqual((await t.api("GET", `/api/v1/sessions/${sid}/messages`)).body, []);
    });

    test("an empty client_id, or an unknown bot: typed errors", async () => {
      const empty = await attempt({ client_id: "" });
      assert.deepEqual([empty.body.name, empty.body.field], ["InvalidInputError", "client_id"]);
      const bot = await attempt({ client_id: "x", bot_id: "no-such-bot" });
      assert.equal(bot.body.name, "UnknownBotError");
    });

    test("NUL characters in content or metadata: refused on both stores, naming the field", async () => {
      const c = await attempt({ client_id: "ctx-nul", content: "x", nul: true });
      assert.deepEqual([c.body.name, c.body.field], ["InvalidInputError", "content"]);
      const m = await attempt({ client_id: "ctx-nul", content: "x", nul_meta: true });
      assert.deepEqual([m.body.name, m.body.field], ["InvalidInputError", "metadata.k.1"]);
      const ok = await attempt({ client_id: "ctx-nul", content: "fine", metadata: { a: 1 } });
      assert.equal(ok.status, 200);
    });

    test("ctx.ingestDocument: NUL in title, content or metadata, or content not text: InvalidInputError naming the field", async () => {
      const doc = (body: Record<string, unknown>) =>
        t.api("POST", "/integrations/probe/doc", body, { key: null });
      for (const [body, field] of [
        [{ title: "t@", content: "text" }, "title"],
        [{ title: "t", content: "te@xt" }, "content"],
        [{ content: "text", nul_meta: true }, "metadata.k"],
        [{ content: 42 }, "content"],
        [{ content: "text", title: 7 }, "title"],
        [{ content: "text", metadata: "m" }, "metadata"],
      ] as const) {
        const r = await doc(body);
        assert.equal(r.status, 422, JSON.stringify(body));
        assert.deepEqual([r.body.name, r.body.field], ["InvalidInputError", field]);
      }
      const ok = await doc({ title: "t", content: "fine words" });
      assert.equal(ok.status, 200);
      const found = await t.api("GET", "/api/v1/documents/search?q=text");
      assert.equal(found.status, 200);
      assert.deepEqual(
        found.body.results.map((h: { title: string | null }) => h.title),
        [],
        "no refused document was stored",
      );
    });
  });
}
