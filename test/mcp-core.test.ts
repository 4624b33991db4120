/**
 * The core as MCP tools, driven by the official SDK client over Streamable HTTP on SQLite
 * and PostgreSQL: open a session, send a message that runs the agent, read the task, list
 * the session's messages, search documents. Each answers what its REST route answers
 * (one service behind both), refuses what REST refuses, and needs its REST scope: a key
 * without it gets a tool error and nothing changes.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

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
  return r.structuredContent as any;
}

/** Calls a tool that must fail; returns its error text. */
async function callError(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = (await client.callTool({ name, arguments: args })) as any;
  assert.equal(r.isError, true, `${name} should fail: ${JSON.stringify(r)}`);
  return r.content[0].text as string;
}

for (const backend of ALL_BACKENDS) {
  describe(`MCP core tools (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    let admin: Client;
    before(async () => {
      t = await startTestApp({ backend });
      admin = await httpClient(t.url, TEST_API_KEY);
    });
    after(async () => {
      await admin?.close();
      await t?.close();
    });

    test("listed with the inputs of their REST routes", async () => {
      const { tools } = await admin.listTools();
      const props = (name: string) =>
        Object.keys((tools.find((x) => x.name === name)?.inputSchema as any)?.properties ?? {});
      assert.deepEqual(props("session_open").sort(), ["bot_id", "client_id", "dispatch_config"]);
      for (const f of ["session_id", "content", "run_agent", "execution_config", "dispatch_config"])
        assert.ok(props("session_send_message").includes(f), f);
      assert.deepEqual(props("task_get"), ["task_id"]);
      assert.deepEqual(props("session_messages").sort(), ["limit", "session_id"]);
      assert.deepEqual(props("documents_search").sort(), [
        "integration_id",
        "limit",
        "q",
        "session_id",
      ]);
    });

    test("send a message that runs the agent, follow the task, read the history: as REST sees it", async () => {
      const opened = await call(admin, "session_open", { client_id: "mcp:core" });
      assert.equal(opened.created, true);
      const again = await call(admin, "session_open", { client_id: "mcp:core" });
      assert.deepEqual(again, { session_id: opened.session_id, created: false });

      const sent = await call(admin, "session_send_message", {
        session_id: opened.session_id,
        content: "hello over MCP",
        run_agent: true,
      });
      assert.equal(sent.session_id, opened.session_id);
      assert.ok(sent.task_id && sent.message_id);
      const done = await t.waitForTask(sent.task_id);
      assert.equal(done.status, "complete");
      assert.equal(done.result, "echo: hello over MCP");

      const task = await call(admin, "task_get", { task_id: sent.task_id });
      const rest = await t.api("GET", `/api/v1/tasks/${sent.task_id}`);
      assert.deepEqual(task, rest.body);

      const msgs = await call(admin, "session_messages", { session_id: opened.session_id });
      assert.deepEqual(
        msgs.items.map((m: any) => [m.role, m.content]),
        [
          ["user", "hello over MCP"],
          ["assistant", "echo: hello over MCP"],
        ],
      );
      const restMsgs = await t.api("GET", `/api/v1/sessions/${opened.session_id}/messages`);
      assert.deepEqual(msgs.items, restMsgs.body);
      assert.equal(msgs.items[0].metadata.source, "mcp");
    });

    test("search documents: the REST answer", async () => {
      const doc = await t.api("POST", "/api/v1/documents", {
        title: "Runbook",
        content: "To rotate the flux capacitor, open the hatch and turn it widdershins.",
      });
      assert.equal(doc.status, 201, JSON.stringify(doc.body));
      const found = await call(admin, "documents_search", { q: "flux capacitor", limit: 5 });
      assert.equal(found.results[0].id, doc.body.id);
      const rest = await t.api("GET", "/api/v1/documents/search?q=flux%20capacitor&limit=5");
      assert.deepEqual(found, rest.body);
    });

    test("refuses what REST refuses, with the REST words", async () => {
      const sid = await t.session("mcp:refusals");
      // The SDK checks the REST schema first and names the field its own way.
      const empty = await callError(admin, "session_send_message", {
        session_id: sid,
        content: "",
      });
      assert.match(empty, /must not be empty/);
      assert.match(empty, /\bcontent\b/);
      const stray = await callError(admin, "session_send_message", {
        session_id: sid,
        content: "x",
        execution_config: { model_override: 42 },
      });
      assert.match(stray, /model_override/);
      assert.match(
        await callError(admin, "session_send_message", {
          session_id: "no-such-session",
          content: "x",
        }),
        /Session not found/,
      );
      assert.match(
        await callError(admin, "session_open", { client_id: "x", bot_id: "ghost" }),
        /Unknown bot: ghost/,
      );
      assert.match(await callError(admin, "task_get", { task_id: "nope" }), /Task not found/);
      assert.match(
        await callError(admin, "session_messages", { session_id: "nope" }),
        /Session not found/,
      );
      assert.match(await callError(admin, "documents_search", { q: "  " }), /must not be empty/);
      const msgs = await t.api("GET", `/api/v1/sessions/${sid}/messages`);
      assert.deepEqual(msgs.body, [], "nothing stored");
    });

    test("each tool needs its REST scope: a key without it gets a tool error and changes nothing", async () => {
      const sid = await t.session("mcp:scopes");
      const { key: writer } = await t.app.store.apiKeys.create("mcp-writer", ["sessions:write"]);
      const w = await httpClient(t.url, writer);
      try {
        const sent = await call(w, "session_send_message", {
          session_id: sid,
          content: "from a writer",
        });
        assert.ok(sent.message_id);
        assert.match(
          await callError(w, "task_get", { task_id: "x" }),
          /Missing required scope: tasks:read/,
        );
        assert.match(
          await callError(w, "documents_search", { q: "flux" }),
          /Missing required scope: documents:read/,
        );
        // sessions:write implies sessions:read, as on REST.
        assert.equal((await call(w, "session_messages", { session_id: sid })).items.length, 1);
      } finally {
        await w.close();
      }
      const { key: reader } = await t.app.store.apiKeys.create("mcp-reader", ["tasks:read"]);
      const r = await httpClient(t.url, reader);
      try {
        assert.match(
          await callError(r, "session_send_message", { session_id: sid, content: "sneaky" }),
          /Missing required scope: sessions:write/,
        );
        assert.match(
          await callError(r, "session_open", { client_id: "mcp:sneaky" }),
          /Missing required scope: sessions:write/,
        );
        assert.match(
          await callError(r, "session_messages", { session_id: sid }),
          /Missing required scope: sessions:read/,
        );
      } finally {
        await r.close();
      }
      const msgs = await t.api("GET", `/api/v1/sessions/${sid}/messages`);
      assert.deepEqual(
        msgs.body.map((m: any) => m.content),
        ["from a writer"],
      );
      const list = await t.api("GET", "/api/v1/sessions?client_id=mcp:sneaky");
      assert.deepEqual(list.body.items, []);
    });
  });
}
