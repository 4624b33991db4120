/**
 * The adapter host with a test adapter folder (written to a temp INTEGRATION_DIRS entry):
 * a start that fails is reported (admin API, banner data) and retried with backoff while
 * the server serves; progress is sent around a turn's reply (start, reply, clear); and
 * the channels admin API follows the error policy. Over real HTTP on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");

/**
 * A folder whose adapter fails to start while the file `RECORDER_FAIL_FILE` exists (so a
 * test decides when it recovers, whatever the machine's speed) and posts what it sends.
 */
function writeRecorder(root: string): void {
  const dir = join(root, "recorder");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "setup.ts"),
    `export default { env_vars: [
  { key: "RECORDER_URL", required: true },
  { key: "RECORDER_FAIL_FILE", default: "" },
] };\n`,
  );
  writeFileSync(
    join(dir, "hooks.ts"),
    `export default { meta: { user_attribution: (bot) => ({
  username: bot.display_name,
  icon_url: bot.integration_config?.recorder?.icon ?? null,
}) } };\n`,
  );
  writeFileSync(
    join(dir, "adapter.ts"),
    `import { existsSync } from "node:fs";
let failures = 0;
export default (ctx) => {
  let handler;
  return {
    name: "recorder",
    kind: "test",
    maxTextLength: 1000,
    routes: async (app) => {
      app.post("/in", { config: { auth: "self" } }, async (req, reply) => {
        if (!handler) return reply.code(503).send({ detail: "not running" });
        const r = await handler(req.body);
        return r;
      });
    },
    async start(opts) {
      const flag = ctx.settings.RECORDER_FAIL_FILE;
      if (flag && existsSync(flag)) {
        failures++;
        throw new Error("provider unreachable (try " + failures + ")");
      }
      handler = opts.handler;
    },
    async send(target, output) {
      const res = await ctx.http.postJson(ctx.settings.RECORDER_URL, { target: { ...target, signal: undefined }, output });
      const err = ctx.errors.fromResult(res);
      if (err) throw err;
    },
    async stop() { handler = undefined; },
  };
};
`,
  );
}

/** A folder whose adapter never starts. */
function writeStuck(root: string): void {
  const dir = join(root, "stuck");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "adapter.ts"),
    `export default () => ({
  name: "stuck", kind: "test",
  async start() { throw new Error("no route to provider"); },
  async send() {},
  async stop() {},
});\n`,
  );
}

for (const backend of ALL_BACKENDS) {
  describe(`adapter host (${backend})`, runsOn(backend), () => {
    let cb: CaptureServer;
    let t: TestApp;
    const dirs = tempDir();
    const failFile = () => join(dirs.path, "recorder-fails");

    before(async () => {
      writeRecorder(dirs.path);
      writeFileSync(failFile(), "fail until this file is gone\n");
      writeStuck(dirs.path);
      cb = await startCaptureServer();
      t = await startTestApp({
        backend,
        env: {
          INTEGRATION_DIRS: dirs.path,
          RECORDER_URL: `${cb.url}/sent`,
          RECORDER_FAIL_FILE: failFile(),
        },
        tuning: { pollMs: 50, adapterRetryMs: 100 },
      });
    });
    after(async () => {
      await t?.close();
      await cb?.close();
      dirs.remove();
    });

    const adapterStatus = async () => {
      const list = (await t.api("GET", "/api/v1/admin/integrations")).body as any[];
      return list.find((i) => i.folder === "recorder")?.adapter;
    };

    test("a failing start is reported and retried with backoff while the server serves", async () => {
      // The first start (awaited by App.start) failed: reported with its reason.
      const first = t.app.adapters.list().find((a) => a.name === "recorder")!;
      assert.equal(first.state, "failed");
      assert.match(first.error!, /provider unreachable/);
      assert.ok(first.nextRetryAt);
      assert.equal((await t.api("GET", "/healthz")).status, 200, "the server serves");
      const refused = await fetch(`${t.url}/integrations/recorder/in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(refused.status, 503);
      // Retried with backoff: more failures are counted while the provider stays down.
      const retried = Date.now() + 10_000;
      let down = await adapterStatus();
      while (!(down?.failures >= 2) && Date.now() < retried) {
        await new Promise((r) => setTimeout(r, 20));
        down = await adapterStatus();
      }
      assert.equal(down.state, "failed");
      assert.ok(down.failures >= 2, JSON.stringify(down));
      assert.match(down.error, /provider unreachable \(try \d+\)/);
      rmSync(failFile());
      const until = Date.now() + 10_000;
      let s = await adapterStatus();
      while (s?.state !== "running" && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
        s = await adapterStatus();
      }
      assert.equal(s.state, "running");
      assert.equal(s.error, null);
    });

    test("integrations list shows each adapter's state in the running server", async () => {
      const until = Date.now() + 10_000;
      while ((await adapterStatus())?.state !== "running" && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const cli = (port: string) =>
        runCommand(join(ROOT, "bin/switchyard"), ["integrations", "list"], dirs.path, {
          SWITCHYARD_LOG_LEVEL: "warn",
          INTEGRATION_DIRS: dirs.path,
          SWITCHYARD_DATA_DIR: join(dirs.path, "cli-data"),
          DATABASE_URL: `sqlite:${join(dirs.path, "cli-data", "none.db")}`,
          HOST: "127.0.0.1",
          PORT: port,
          SWITCHYARD_API_KEY: TEST_API_KEY,
          RECORDER_URL: "http://127.0.0.1:9/unused",
        });
      const live = await cli(new URL(t.url).port);
      assert.equal(live.code, 0, live.err);
      const block = (name: string) => {
        const lines = live.out.split("\n");
        const i = lines.findIndex((l) => l.startsWith(`${name} `));
        assert.ok(i >= 0, live.out);
        const rest = lines.slice(i + 1);
        const end = rest.findIndex((l) => !l.startsWith("    "));
        return rest.slice(0, end === -1 ? undefined : end).join("\n");
      };
      assert.match(block("recorder"), /adapter: running/);
      assert.match(
        block("stuck"),
        /adapter: failed \(\d+ tr(y|ies)\): no route to provider; next try at \d{4}-/,
      );
      // No server there: said plainly.
      const gone = await cli("9");
      assert.match(gone.out, /adapter: state unknown \(no server answering at HOST:PORT\)/);
    });

    test("progress starts, the reply follows, then progress clears, all through the outbox", async () => {
      const before = cb.requests.length;
      const sentSoFar = () => cb.requests.slice(before).map((x) => x.json.output);
      // The model answers only once the progress start was sent (or after 5 s, which fails
      // below): the turn is running while progress shows, whatever the machine's speed.
      t.llm.setResponder(async () => {
        const until = Date.now() + 5000;
        while (!sentSoFar().some((o) => o.kind === "progress") && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 10));
        }
        return { text: "echo: ping" };
      });
      const res = await fetch(`${t.url}/integrations/recorder/in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          conversation: { channel: "C1", thread: "T1" },
          author: { id: "U1", isBot: false },
          text: "ping",
          mentioned: true,
          deliveryId: "ev-1",
        }),
      });
      const r = (await res.json()) as any;
      assert.equal(r.outcome, "run", JSON.stringify(r));
      await t.waitForTask(r.taskId);
      t.llm.setResponder(null);
      const got = (await cb.waitFor(before + 3)).slice(before);
      const kinds = got.map((x) => x.json.output);
      assert.deepEqual(kinds, [
        { kind: "progress", state: "start" },
        { kind: "text", text: "echo: ping" },
        { kind: "progress", state: "clear" },
      ]);
      const reply = 1;
      assert.deepEqual(got[reply]!.json.target.conversation, { channel: "C1", thread: "T1" });
      assert.equal(got[reply]!.json.target.replyTo, "ev-1");
      // The thread is its own session.
      const s = (await t.api("GET", `/api/v1/sessions/${r.sessionId}`)).body;
      assert.equal(s.client_id, "recorder::C1:T1");
    });

    test("a reply carries the bot's identity and the integration's user_attribution extras", async () => {
      const put = await t.api("PUT", "/api/v1/admin/bots/default", {
        display_name: "Helper",
        avatar_url: "https://example.invalid/a.png",
        integration_config: { recorder: { icon: "https://example.invalid/i.png" } },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const before = cb.requests.length;
      const res = await fetch(`${t.url}/integrations/recorder/in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          conversation: { channel: "C2" },
          author: { id: "U1", isBot: false },
          text: "who",
          mentioned: true,
          direct: true,
          deliveryId: "ev-identity",
        }),
      });
      const r = (await res.json()) as any;
      await t.waitForTask(r.taskId);
      const got = (await cb.waitFor(before + 2)).slice(before);
      const reply = got.find((x) => x.json.output.kind === "text")!;
      assert.deepEqual(reply.json.target.identity, {
        displayName: "Helper",
        avatarUrl: "https://example.invalid/a.png",
        extras: { username: "Helper", icon_url: "https://example.invalid/i.png" },
      });
    });

    test("channels API: create, read, update, list, delete; strict bodies; 404 and 409", async () => {
      const bad = await t.api("POST", "/api/v1/admin/channels", {
        integration: "recorder",
        channel: "C9",
        extra: 1,
      });
      assert.equal(bad.status, 400);
      const noBot = await t.api("POST", "/api/v1/admin/channels", {
        integration: "recorder",
        channel: "C9",
        bot_id: "nope",
      });
      assert.equal(noBot.status, 422);
      const c = await t.api("POST", "/api/v1/admin/channels", {
        integration: "recorder",
        team: "T",
        channel: "C9",
        require_mention: false,
      });
      assert.equal(c.status, 201);
      assert.equal(c.body.client_id, "recorder:T:C9");
      assert.equal(c.body.bot_id, "default");
      assert.equal(c.body.require_mention, false);
      const dup = await t.api("POST", "/api/v1/admin/channels", {
        integration: "recorder",
        team: "T",
        channel: "C9",
      });
      assert.equal(dup.status, 409);
      const put = await t.api("PUT", `/api/v1/admin/channels/${c.body.id}`, {
        require_mention: null,
        passive_memory: true,
      });
      assert.equal(put.status, 200);
      assert.equal(put.body.require_mention, null);
      assert.equal(put.body.passive_memory, true);
      assert.equal(
        (await t.api("PUT", `/api/v1/admin/channels/${c.body.id}`, { x: 1 })).status,
        400,
      );
      const list = (await t.api("GET", "/api/v1/admin/channels?integration=recorder")).body;
      assert.ok(list.some((x: any) => x.id === c.body.id));
      assert.equal(
        (await t.api("GET", "/api/v1/admin/channels", undefined, { key: null })).status,
        401,
      );
      assert.equal((await t.api("DELETE", `/api/v1/admin/channels/${c.body.id}`)).status, 204);
      assert.equal((await t.api("DELETE", `/api/v1/admin/channels/${c.body.id}`)).status, 404);
      assert.equal((await t.api("GET", `/api/v1/admin/channels/${c.body.id}`)).status, 404);
    });
  });
}
