/**
 * Issue 11 item 6: nested objects are validated strictly, with the same schemas on every
 * way in. A misspelt `execution_config` key, a webhook `dispatch_config` without its url
 * and a `model_override` that is no `provider:model` are refused with 400 naming the field
 * (the words POST /admin/bots uses for the same model string), and nothing is stored; the
 * ctx path throws InvalidInputError naming the same field.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";

// A router that hands what it is sent to ctx and reports what ctx threw.
const ROUTER = `
export default async (app, ctx) => {
  app.post("/try", { config: { auth: "self" } }, async (req, reply) => {
    const b = req.body;
    try {
      const s = await ctx.getOrCreateSession(b.client_id, b.session_dispatch ? { dispatchConfig: b.session_dispatch } : {});
      const r = await ctx.injectMessage(s.sessionId, "hello", {
        runAgent: true,
        executionConfig: b.execution_config,
        dispatch: b.dispatch,
      });
      return { message_id: r.messageId, session_id: s.sessionId };
    } catch (err) {
      return reply.code(422).send({ name: err.name, field: err.field ?? null, message: err.message });
    }
  });
};
`;

const MODEL_WORDS = "expected provider:model (openai, anthropic, ollama, openai-compatible)";

for (const backend of ALL_BACKENDS) {
  describe(`nested objects are validated strictly (${backend})`, runsOn(backend), () => {
    const dir = tempDir("switchyard-nested-");
    let t: TestApp;
    let sid: string;
    before(async () => {
      mkdirSync(join(dir.path, "probe"), { recursive: true });
      writeFileSync(join(dir.path, "probe", "router.ts"), ROUTER);
      t = await startTestApp({ backend, env: { INTEGRATION_DIRS: dir.path } });
      sid = await t.session(`nested-${backend}`);
    });
    after(async () => {
      await t.close();
      dir.remove();
    });

    const post = (body: Record<string, unknown>) =>
      t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "hi",
        run_agent: true,
        ...body,
      });
    const stored = async () => (await t.api("GET", `/api/v1/sessions/${sid}/messages`)).body;

    test("execution_config with an unknown key: 400 naming execution_config.skils; nothing stored", async () => {
      const r = await post({ execution_config: { skils: ["integrations/x/y"] } });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.detail, "Invalid body: execution_config.skils: unknown field");
      assert.deepEqual(await stored(), []);
    });

    test("a webhook dispatch_config without url: 400 naming dispatch_config.url; nothing stored", async () => {
      for (const run_agent of [true, false]) {
        const r = await post({ run_agent, dispatch_config: { type: "webhook" } });
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.detail, "Invalid body: dispatch_config.url: required");
      }
      const typo = await post({
        dispatch_config: { type: "webhook", url: "http://127.0.0.1:9/", secret_header: "x" },
      });
      assert.equal(typo.status, 400);
      assert.equal(typo.body.detail, "Invalid body: dispatch_config.secret_header: unknown field");
      const internal = await post({ dispatch_config: { type: "internal" } });
      assert.equal(internal.body.detail, "Invalid body: dispatch_config.session_id: required");
      const viaType = await post({ dispatch_type: "webhook", dispatch_config: {} });
      assert.equal(viaType.body.detail, "Invalid body: dispatch_config.url: required");
      const session = await t.api("POST", "/api/v1/sessions", {
        client_id: "nested-session",
        dispatch_config: { type: "webhook", url: "http://127.0.0.1:9/", uri: "x" },
      });
      assert.equal(session.status, 400);
      assert.equal(session.body.detail, "Invalid body: dispatch_config.uri: unknown field");
      assert.deepEqual(await stored(), []);
    });

    test("model_override that is no provider:model: 400 in the words POST /admin/bots uses", async () => {
      const bot = await t.api("POST", "/api/v1/admin/bots", {
        id: "nonsense-bot",
        model: "nonsense",
      });
      assert.equal(bot.status, 400);
      assert.equal(bot.body.detail, `Invalid body: model: ${MODEL_WORDS}`);
      const r = await post({ execution_config: { model_override: "nonsense" } });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.detail, `Invalid body: execution_config.model_override: ${MODEL_WORDS}`);
      assert.deepEqual(await stored(), []);
    });

    test("well-formed nested objects are still accepted", async () => {
      const r = await post({
        execution_config: {
          skills: [],
          tools: [],
          system_preamble: "p",
          model_override: "openai-compatible:fake-model",
        },
        dispatch_config: { type: "none" },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const other = await post({ dispatch_config: { type: "some-integration", channel: "c1" } });
      assert.equal(other.status, 201, "an integration's dispatcher keeps its own config shape");
    });

    test("ctx.injectMessage and getOrCreateSession throw InvalidInputError naming the same fields", async () => {
      const attempt = (body: Record<string, unknown>) =>
        t.api(
          "POST",
          "/integrations/probe/try",
          { client_id: "ctx-nested", ...body },
          { key: null },
        );
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ execution_config: { skils: [] } }, "execution_config.skils", "unknown field"],
        [
          { execution_config: { model_override: "nonsense" } },
          "execution_config.model_override",
          MODEL_WORDS,
        ],
        [{ dispatch: { type: "webhook" } }, "dispatch_config.url", "required"],
        [{ session_dispatch: { type: "internal" } }, "dispatch_config.session_id", "required"],
      ];
      for (const [body, field, problem] of cases) {
        const r = await attempt(body);
        assert.equal(r.status, 422, JSON.stringify(r.body));
        assert.deepEqual(r.body, {
          name: "InvalidInputError",
          field,
          message: `Invalid ${field}: ${problem}`,
        });
      }
      const ok = await attempt({});
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const msgs = (await t.api("GET", `/api/v1/sessions/${ok.body.session_id}/messages`)).body;
      assert.deepEqual(
        msgs.filter((m: any) => m.role === "user").map((m: any) => m.content),
        ["hello"],
        "only the valid injection was stored",
      );
    });
  });
}
