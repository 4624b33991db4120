/**
 * The MCP server, driven by the official SDK client: the eight tools are listed with the
 * input fields the seed names, and each is called over Streamable HTTP (`/mcp`, Bearer
 * key, per-tool scopes) and over stdio (`switchyard mcp`), with effects checked through
 * REST and a capture server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { createTestDatabase, type TestDatabase, tempDir } from "./support/db.ts";

const ROOT = join(import.meta.dirname, "..");
const TOOLS = [
  "approval_decide",
  "approvals_list",
  "documents_search",
  "integration_emit_event",
  "integration_git_auto_commit_get",
  "integration_git_auto_commit_set",
  "integration_notify",
  "integration_webhook_delete",
  "integration_webhook_list",
  "integration_webhook_register",
  "integrations_state",
  "job_create",
  "job_delete",
  "job_run",
  "jobs_list",
  "session_messages",
  "session_open",
  "session_send_message",
  "task_get",
];

async function httpClient(url: string, key: string): Promise<Client> {
  const client = new Client({ name: "switchyard-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

/** Calls a tool and returns its structured result; fails the test on a tool error. */
async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = (await client.callTool({ name, arguments: args })) as any;
  assert.notEqual(r.isError, true, `${name} failed: ${JSON.stringify(r.content)}`);
  const text = JSON.parse(r.content[0].text);
  assert.deepEqual(text, Array.isArray(text) ? r.structuredContent.items : r.structuredContent);
  return r.structuredContent as any;
}

/** Lists tools, then calls all eight; checks their effects through REST and `capture`. */
async function exerciseAllTools(client: Client, t: TestApp, capture: CaptureServer, tag: string) {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((x) => x.name).sort(), TOOLS);
  const props = (name: string) =>
    Object.keys((tools.find((x) => x.name === name)!.inputSchema as any).properties ?? {}).sort();
  assert.deepEqual(props("integration_webhook_register"), ["events", "secret", "url"]);
  assert.deepEqual(props("integration_webhook_delete"), ["webhookId"]);
  assert.deepEqual(props("integration_git_auto_commit_set"), ["enabled", "on_events"]);
  assert.deepEqual(props("integration_notify"), [
    "attachments",
    "channel",
    "message",
    "priority",
    "retry_count",
    "timeout_ms",
    "webhook_url",
  ]);
  assert.deepEqual(props("integration_emit_event"), ["eventName", "payload"]);

  const secret = `mcp-secret-${tag}-value`;
  const hookUrl = `${capture.url}/events-${tag}`;
  const reg = await call(client, "integration_webhook_register", {
    url: hookUrl,
    events: ["task.sync"],
    secret,
  });
  assert.equal(reg.created, true);
  assert.equal(reg.webhook.has_secret, true);
  assert.ok(!JSON.stringify(reg).includes(secret));
  const again = await call(client, "integration_webhook_register", { url: hookUrl, secret });
  assert.equal(again.created, false);
  assert.equal(again.webhook.id, reg.webhook.id);

  const list = await call(client, "integration_webhook_list");
  const mine = list.items.filter((w: any) => w.url === hookUrl);
  assert.equal(mine.length, 1);
  assert.ok(!JSON.stringify(list).includes(secret));

  const before = capture.requests.length;
  const emitted = await call(client, "integration_emit_event", {
    eventName: "task.sync",
    payload: { from: tag },
  });
  assert.equal(emitted.sent, 1);
  const got = (await capture.waitFor(before + 1)).slice(before);
  const event = got.find((r) => r.path === `/events-${tag}`)!;
  assert.equal(event.json.event, "task.sync");
  assert.deepEqual(event.json.data, { from: tag });
  assert.equal(event.headers["webhook-id"], emitted.deliveries[0].delivery_id);

  const bad = (await client.callTool({
    name: "integration_emit_event",
    arguments: { eventName: "no.such.event" },
  })) as any;
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /task\.completed/);

  const n0 = capture.requests.length;
  const note = await call(client, "integration_notify", {
    channel: "slack",
    message: `hello from ${tag}`,
    webhook_url: `${capture.url}/slack-${tag}`,
  });
  assert.equal(note.success, true);
  assert.equal(note.delivered, true);
  assert.equal(note.channel, "slack");
  const slack = (await capture.waitFor(n0 + 1)).slice(n0).find((r) => r.path === `/slack-${tag}`)!;
  assert.equal(slack.json.text, `hello from ${tag}`);

  const git0 = await call(client, "integration_git_auto_commit_get");
  assert.equal(typeof git0.enabled, "boolean");
  const git1 = await call(client, "integration_git_auto_commit_set", {
    enabled: !git0.enabled,
    on_events: ["task.sync"],
  });
  assert.deepEqual(git1, { enabled: !git0.enabled, on_events: ["task.sync"] });
  assert.deepEqual(await call(client, "integration_git_auto_commit_get"), git1);
  await call(client, "integration_git_auto_commit_set", { enabled: false });

  const state = await call(client, "integrations_state");
  assert.ok(state.webhooks.some((w: any) => w.id === reg.webhook.id));
  assert.ok(state.notifications.some((n: any) => n.id === note.notification_id));
  assert.ok(!JSON.stringify(state).includes(secret));

  // What MCP changed, REST sees: one service behind both.
  const rest = await t.api("GET", "/api/v1/webhooks");
  assert.ok(rest.body.some((w: any) => w.id === reg.webhook.id));

  const del = await call(client, "integration_webhook_delete", { webhookId: reg.webhook.id });
  assert.deepEqual(del, { removed: true, webhook_id: reg.webhook.id });
  const del2 = await call(client, "integration_webhook_delete", { webhookId: reg.webhook.id });
  assert.equal(del2.removed, false);
}

describe("MCP server", () => {
  let t: TestApp;
  let capture: CaptureServer;
  let db: TestDatabase;
  before(async () => {
    capture = await startCaptureServer();
    db = await createTestDatabase("sqlite");
    t = await startTestApp({ keepDb: db });
  });
  after(async () => {
    await t?.close();
    await capture?.close();
    await db?.drop();
  });

  test("over Streamable HTTP: eight tools listed, each one called", async () => {
    const client = await httpClient(t.url, TEST_API_KEY);
    try {
      await exerciseAllTools(client, t, capture, "http");
    } finally {
      await client.close();
    }
  });

  test("over HTTP: no key → 401; a read-only key can read but not write", async () => {
    const res = await fetch(`${t.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(res.status, 401);
    assert.ok(((await res.json()) as { detail?: string }).detail);

    const { key } = await t.app.store.apiKeys.create("mcp-reader", ["webhooks:read"]);
    const reader = await httpClient(t.url, key);
    try {
      const list = (await reader.callTool({ name: "integration_webhook_list" })) as any;
      assert.notEqual(list.isError, true);
      const reg = (await reader.callTool({
        name: "integration_webhook_register",
        arguments: { url: `${capture.url}/nope` },
      })) as any;
      assert.equal(reg.isError, true);
      assert.match(reg.content[0].text, /Missing required scope: webhooks:write/);
      const rest = await t.api("GET", "/api/v1/webhooks");
      assert.ok(!rest.body.some((w: any) => w.url === `${capture.url}/nope`));
    } finally {
      await reader.close();
    }
  });

  test("over stdio (`switchyard mcp`): the same eight tools on the same database", async () => {
    const dir = tempDir();
    const client = new Client({ name: "switchyard-test", version: "1.0.0" });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, "src/main.ts"), "mcp"],
      cwd: dir.path,
      env: {
        PATH: process.env.PATH ?? "",
        SWITCHYARD_DATA_DIR: dir.path,
        DATABASE_URL: db.url,
        SWITCHYARD_ALLOW_PRIVATE_URLS: "true",
        SWITCHYARD_LOG_LEVEL: "warn",
      },
      stderr: "pipe",
    });
    let stderr = "";
    transport.stderr?.on("data", (d) => {
      stderr += d;
    });
    try {
      await client.connect(transport);
      await exerciseAllTools(client, t, capture, "stdio");
    } catch (err) {
      throw new Error(`${(err as Error).message}\nstderr of switchyard mcp:\n${stderr}`);
    } finally {
      await client.close();
      dir.remove();
    }
  });
});
