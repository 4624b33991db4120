/**
 * Integrations end to end over real HTTP: a copy of integrations/example in a temporary
 * folder named in INTEGRATION_DIRS (so it overrides the repo's own) is discovered; its
 * route answers, the model calls its tool in a turn, its dispatcher delivers through the
 * outbox, its hooks see every event; a broken folder beside it is reported and skipped.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { normaliseTool } from "../src/integrations/loader.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { tempDir } from "./support/db.ts";

const ROOT = join(import.meta.dirname, "..");
const SECRET = "example-secret-0123456789";

describe("integration folders", () => {
  const dir = tempDir("switchyard-integrations-");
  let t: TestApp;
  let out: CaptureServer;
  let hooksOk: CaptureServer;
  let hooksDead: CaptureServer;

  before(async () => {
    out = await startCaptureServer();
    hooksOk = await startCaptureServer();
    hooksDead = await startCaptureServer();
    hooksDead.setResponder(() => ({ status: 200, delayMs: 60_000 })); // never answers in time
    const ext = join(dir.path, "ext");
    cpSync(join(ROOT, "integrations", "example"), join(ext, "example"), { recursive: true });
    const index = join(ext, "example", "index.ts");
    writeFileSync(index, readFileSync(index, "utf8").replace('"1.0.0"', '"1.0.0-copy"'));
    // A broken folder: a tool without execute, a router that throws on import.
    mkdirSync(join(ext, "broken", "tools"), { recursive: true });
    writeFileSync(
      join(ext, "broken", "tools", "bad.ts"),
      'export default { name: "bad", description: "x" };\n',
    );
    writeFileSync(
      join(ext, "broken", "tools", "good.ts"),
      'export default { name: "broken_good", description: "fine", parameters: { type: "object", properties: {} }, execute: () => "ok" };\n',
    );
    writeFileSync(join(ext, "broken", "router.ts"), 'throw new Error("boom at import");\n');
    // TOOL_DIRS: the seed's OpenAI function form, an array export, and a name clash with
    // the broken folder's good tool (the later source, TOOL_DIRS, wins).
    mkdirSync(join(dir.path, "tools"));
    writeFileSync(
      join(dir.path, "tools", "seed_form.ts"),
      'export default [{ type: "function", function: { name: "seed_upper", description: "Upper-case", parameters: { type: "object", properties: { s: { type: "string" } } } }, execute: (a) => a.s.toUpperCase() }, { name: "broken_good", description: "clash", parameters: { type: "object", properties: {} }, execute: () => "from TOOL_DIRS" }];\n',
    );
    writeFileSync(
      join(dir.path, "tools", "_helper.ts"),
      'throw new Error("helpers are not loaded");\n',
    );
    // Not an integration: no part that counts.
    mkdirSync(join(ext, "just-notes"));
    writeFileSync(join(ext, "just-notes", "README.md"), "notes\n");
    t = await startTestApp({
      env: {
        INTEGRATION_DIRS: `${ext}:${join(dir.path, "missing")}`,
        TOOL_DIRS: join(dir.path, "tools"),
        EXAMPLE_WEBHOOK_SECRET: SECRET,
        EXAMPLE_OUTBOUND_URL: `${out.url}/out`,
        HOOK_WEBHOOK_URLS: `${hooksDead.url}/dead,${hooksOk.url}/hooks`,
        HOOK_WEBHOOK_SECRET: "hook-secret",
        SWITCHYARD_SECRET_KEY: "at-rest-key-0123456789",
      },
      tuning: { shutdownGraceMs: 500 },
    });
  });
  after(async () => {
    await hooksDead.close();
    await t.close();
    await out.close();
    await hooksOk.close();
    dir.remove();
  });

  const sign = (body: string) => createHmac("sha256", SECRET).update(body).digest("hex");
  const postWebhook = (body: string, signature?: string) =>
    t.api("POST", "/integrations/example/webhook", undefined, {
      key: null,
      raw: body,
      headers: signature ? { "x-example-signature": signature } : {},
    });

  test("discovery: the later source overrides by folder name; a broken folder is reported, not fatal", () => {
    const names = t.app.integrations.list().map((i) => i.name);
    assert.deepEqual(names, ["broken", "discord", "example", "github", "webhook"]);
    const example = t.app.integrations.get("example")!;
    assert.equal(example.metadata.version, "1.0.0-copy");
    assert.ok(example.dir.startsWith(dir.path), "the INTEGRATION_DIRS copy won");
    assert.equal(example.overrides.length, 1, "it overrides the repo's own folder");
    assert.equal(example.status, "ready");
    assert.deepEqual(example.errors, []);
    assert.deepEqual([...example.parts].sort(), [
      "config",
      "dispatcher",
      "hooks",
      "index",
      "process",
      "router",
      "setup",
      "skills",
      "tools",
    ]);
    const broken = t.app.integrations.get("broken")!;
    assert.equal(broken.status, "partial");
    const reasons = broken.errors.map(
      (e) => `${e.file.split("/").slice(-2).join("/")}: ${e.reason}`,
    );
    assert.ok(
      reasons.some((r) => r.startsWith("tools/bad.ts: tool bad: execute must be a function")),
      reasons.join("\n"),
    );
    assert.ok(
      reasons.some((r) => r.startsWith("broken/router.ts: boom at import")),
      reasons.join("\n"),
    );
    assert.ok(t.app.tools.get("broken_good"), "the folder's good tool still registered");
  });

  test("routes state their auth: a signed webhook is accepted, a bad signature is 401, API-key routes need the key", async () => {
    const body = JSON.stringify({ client_id: "c1", text: "hi" });
    assert.equal((await postWebhook(body)).status, 401);
    assert.equal((await postWebhook(body, sign("something else"))).status, 401);
    assert.equal(
      (await t.api("GET", "/integrations/example/events", undefined, { key: null })).status,
      401,
    );
    assert.equal((await t.api("GET", "/integrations/example/events")).status, 200);
  });

  test("a webhook turn: the model calls the integration's tool, the dispatcher delivers, hooks see every event", async () => {
    t.llm.reset();
    t.llm.enqueue(
      { toolCalls: [{ name: "example_greet", args: { name: "Ada" } }] },
      { text: "Greeted Ada." },
    );
    const body = JSON.stringify({ client_id: "chan-7", text: "please greet Ada" });
    const r = await postWebhook(body, sign(body));
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "processed");
    const taskId = r.body.task_id as string;

    const task = await t.waitForTask(taskId);
    assert.equal(task.status, "complete");
    const toolMsg = t.llm.requests[1]!.messages.find((m: any) => m.role === "tool");
    assert.deepEqual(JSON.parse(toolMsg.content), { greeting: "Hello, Ada!" });

    const [delivered] = await out.waitFor(1);
    assert.equal(delivered!.path, "/out");
    assert.equal(delivered!.json.channel, "chan-7");
    assert.equal(delivered!.json.text, "Greeted Ada.");
    assert.ok(delivered!.json.delivery_id);

    let events: any[] = [];
    for (let i = 0; i < 100; i++) {
      events = (await t.api("GET", "/integrations/example/events")).body.filter(
        (e: any) => e.correlation_id === taskId,
      );
      if (events.some((e) => e.event === "after_task_complete")) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const names = events.map((e) => e.event);
    for (const e of [
      "before_context_assembly",
      "before_llm_call",
      "after_llm_call",
      "before_tool_execution",
      "after_tool_call",
      "after_response",
      "after_task_complete",
    ]) {
      assert.ok(names.includes(e), `hook saw ${e}: ${names.join(", ")}`);
    }
    const llmCall = events.find((e) => e.event === "before_llm_call");
    assert.deepEqual(Object.keys(llmCall.extra).sort(), [
      "iteration",
      "message_count",
      "model",
      "provider_id",
      "tools_count",
    ]);
    const done = events.find((e) => e.event === "after_task_complete");
    assert.deepEqual(done.extra, { task_id: taskId, status: "complete" });

    // Hook webhooks: the live URL got every event with the exact shape, signed, although
    // the other URL never answers (and the turn was not slowed by it: it completed above).
    let mine: any[] = [];
    for (let i = 0; i < 100; i++) {
      mine = hooksOk.requests.filter((r) => r.json?.context?.correlation_id === taskId);
      if (mine.some((r) => r.json.event === "after_task_complete")) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const first = mine.find((r) => r.json.event === "before_llm_call")!;
    assert.deepEqual(Object.keys(first.json).sort(), ["context", "data", "event", "timestamp"]);
    assert.deepEqual(Object.keys(first.json.context).sort(), [
      "bot_id",
      "channel_id",
      "client_id",
      "correlation_id",
      "session_id",
    ]);
    assert.equal(first.json.context.client_id, "example:chan-7");
    assert.equal(first.json.data.model, "openai-compatible:fake-model");
    assert.equal(
      first.headers["x-ams-signature"],
      createHmac("sha256", "hook-secret").update(first.body).digest("hex"),
    );
    assert.ok(mine.some((r) => r.json.event === "after_task_complete"));
    assert.ok(hooksDead.requests.length > 0, "the dead URL was tried too");
  });

  test("admin API: integrations with status, settings masked, stored (encrypted) and applied at once", async () => {
    const list = (await t.api("GET", "/api/v1/admin/integrations")).body;
    const ex = list.find((i: any) => i.folder === "example");
    assert.equal(ex.status, "ready");
    assert.equal(ex.webhook_url, `${t.url}/integrations/example/webhook`);
    assert.deepEqual(
      ex.env_vars.find((v: any) => v.key === "EXAMPLE_WEBHOOK_SECRET"),
      {
        key: "EXAMPLE_WEBHOOK_SECRET",
        is_set: true,
        source: "env",
        required: true,
        secret: true,
        description: ex.env_vars[0].description,
      },
    );
    assert.ok(!JSON.stringify(list).includes(SECRET), "no secret in the list");
    assert.ok(list.find((i: any) => i.folder === "broken").errors.length >= 2);
    assert.equal(
      (await t.api("GET", "/api/v1/admin/integrations", undefined, { key: null })).status,
      401,
    );

    const settings = (await t.api("GET", "/api/v1/admin/integrations/example/settings")).body
      .settings;
    assert.equal(settings.find((s: any) => s.key === "EXAMPLE_WEBHOOK_SECRET").value, "****6789");

    const unknown = await t.api("PUT", "/api/v1/admin/integrations/example/settings", {
      settings: { NOPE: "x" },
    });
    assert.equal(unknown.status, 422);
    assert.match(unknown.body.detail, /NOPE/);

    const put = await t.api("PUT", "/api/v1/admin/integrations/example/settings", {
      settings: { EXAMPLE_GREETING: "Ahoy" },
    });
    assert.equal(put.status, 200);
    const greeting = put.body.settings.find((s: any) => s.key === "EXAMPLE_GREETING");
    assert.deepEqual([greeting.value, greeting.source], ["Ahoy", "db"]);
    const row = await t.app.store.db.kysely
      .selectFrom("integration_settings")
      .selectAll()
      .executeTakeFirstOrThrow();
    assert.ok(!row.value.includes("Ahoy"), "encrypted at rest");
    const tool = t.app.tools.get("example_greet")!;
    const result = await tool.execute(
      { name: "Bo" },
      {
        taskId: "t",
        sessionId: "s",
        botId: "b",
        signal: new AbortController().signal,
        log: t.app.log,
      },
    );
    assert.deepEqual(
      result,
      { greeting: "Ahoy, Bo!" },
      "the integration sees the new value at once",
    );

    const cleared = await t.api("PUT", "/api/v1/admin/integrations/example/settings", {
      settings: { EXAMPLE_GREETING: "" },
    });
    const back = cleared.body.settings.find((s: any) => s.key === "EXAMPLE_GREETING");
    assert.deepEqual([back.value, back.source], ["Hello", "default"]);

    assert.deepEqual((await t.api("GET", "/api/v1/admin/integrations/sidebar-sections")).body, [
      { integration: "example", title: "Example", icon: "puzzle" },
    ]);
    assert.equal(
      (await t.api("GET", "/api/v1/admin/integrations/dashboard-modules")).body[0].id,
      "example-events",
    );
  });

  test("process: not configured until its setting is stored, then runs and is restarted when it dies", async () => {
    const before = (await t.api("GET", "/api/v1/admin/integrations/example/process")).body;
    assert.equal(before.state, "not_configured");
    assert.deepEqual(before.missingEnv, ["EXAMPLE_PROCESS_ENABLED"]);
    await t.api("PUT", "/api/v1/admin/integrations/example/settings", {
      settings: { EXAMPLE_PROCESS_ENABLED: "1" },
    });
    const running = (await t.api("GET", "/api/v1/admin/integrations/example/process")).body;
    assert.equal(running.state, "running");
    process.kill(running.pid, "SIGKILL");
    let after: any;
    for (let i = 0; i < 100; i++) {
      after = (await t.api("GET", "/api/v1/admin/integrations/example/process")).body;
      if (after.state === "running" && after.pid !== running.pid) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(after.state, "running");
    assert.notEqual(after.pid, running.pid);
    assert.equal(after.restarts, 1);
    const restarted = await t.api("POST", "/api/v1/admin/integrations/example/process/restart");
    assert.notEqual(restarted.body.pid, after.pid);
    const stopped = await t.api("POST", "/api/v1/admin/integrations/example/process/stop");
    assert.equal(stopped.body.state, "stopped");
  });

  test("TOOL_DIRS: the OpenAI function form and array exports load; a clash goes to the later source", async () => {
    const upper = t.app.tools.get("seed_upper")!;
    assert.equal(upper.description, "Upper-case");
    const ctx = {
      taskId: "t",
      sessionId: "s",
      botId: "b",
      signal: new AbortController().signal,
      log: t.app.log,
    };
    assert.equal(await upper.execute({ s: "abc" }, ctx), "ABC");
    const clash = t.app.tools.get("broken_good")!;
    assert.ok(clash.source.endsWith("seed_form.ts"), clash.source);
    assert.equal(await clash.execute({}, ctx), "from TOOL_DIRS");
  });

  test("Zod parameters become JSON Schema", () => {
    const tool = normaliseTool(
      {
        name: "zod_tool",
        description: "d",
        parameters: z.object({ n: z.number().int() }),
        execute: () => 1,
      },
      "inline",
    );
    assert.equal(tool.parameters.type, "object");
    assert.deepEqual(Object.keys(tool.parameters.properties ?? {}), ["n"]);
    assert.throws(
      () =>
        normaliseTool(
          { name: "x", description: "d", parameters: z.string(), execute: () => 1 },
          "f",
        ),
      /object schema/,
    );
  });

  test("loading the same folder again registers nothing twice", async () => {
    const before = t.app.tools.list().length;
    const folder = t.app.integrations.get("example")!;
    await t.app.integrations.load(folder);
    assert.equal(t.app.tools.list().length, before);
    assert.equal(t.app.integrations.list().length, 5);
  });
});
