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
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { tempDir } from "./support/db.ts";

const ROOT = join(import.meta.dirname, "..");
const SECRET = "example-secret-0123456789";

describe("integration folders", () => {
  const dir = tempDir("switchyard-integrations-");
  let t: TestApp;
  let out: CaptureServer;

  before(async () => {
    out = await startCaptureServer();
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
    // Not an integration: no part that counts.
    mkdirSync(join(ext, "just-notes"));
    writeFileSync(join(ext, "just-notes", "README.md"), "notes\n");
    t = await startTestApp({
      env: {
        INTEGRATION_DIRS: `${ext}:${join(dir.path, "missing")}`,
        EXAMPLE_WEBHOOK_SECRET: SECRET,
        EXAMPLE_OUTBOUND_URL: `${out.url}/out`,
      },
    });
  });
  after(async () => {
    await t.close();
    await out.close();
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
    assert.deepEqual(names, ["broken", "example"]);
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
  });

  test("loading the same folder again registers nothing twice", async () => {
    const before = t.app.tools.list().length;
    const folder = t.app.integrations.get("example")!;
    await t.app.integrations.load(folder);
    assert.equal(t.app.tools.list().length, before);
    assert.equal(t.app.integrations.list().length, 2);
  });
});
