/** The REST API's contract: auth and scopes, sessions, messages, validation, bots, OpenAPI. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

describe("auth", () => {
  test("health endpoints need no key", async () => {
    assert.deepEqual(await t.api("GET", "/healthz", undefined, { key: null }), {
      status: 200,
      body: { status: "ok" },
    });
    assert.equal((await t.api("GET", "/readyz", undefined, { key: null })).status, 200);
  });

  test("missing or unknown key → 401", async () => {
    const none = await t.api("POST", "/api/v1/sessions", { client_id: "x" }, { key: null });
    assert.equal(none.status, 401);
    assert.match(none.body.detail, /API key/);
    const bad = await t.api("POST", "/api/v1/sessions", { client_id: "x" }, { key: "not-a-key" });
    assert.equal(bad.status, 401);
  });

  test("scopes: write implies read, missing scope → 403 naming it, admin implies all", async () => {
    const { key } = await t.app.store.apiKeys.create("reader", ["sessions:write"]);
    const sid = await t.session("scope-test");
    const created = await t.api("POST", "/api/v1/sessions", { client_id: "scoped" }, { key });
    assert.equal(created.status, 201);
    const read = await t.api("GET", `/api/v1/sessions/${sid}/messages`, undefined, { key });
    assert.equal(read.status, 200, "sessions:write implies sessions:read");
    const task = await t.api("GET", "/api/v1/tasks/nope", undefined, { key });
    assert.deepEqual(task, { status: 403, body: { detail: "Missing required scope: tasks:read" } });
    const admin = await t.api("GET", "/api/v1/admin/bots", undefined, { key });
    assert.deepEqual(admin.body, { detail: "Missing required scope: admin" });
    const { key: adminKey } = await t.app.store.apiKeys.create("admin", ["admin"]);
    assert.equal(
      (await t.api("GET", "/api/v1/tasks/nope", undefined, { key: adminKey })).status,
      404,
    );
  });
});

describe("sessions and messages", () => {
  test("POST /sessions returns the existing session for the same (bot, client)", async () => {
    const a = await t.api("POST", "/api/v1/sessions", { client_id: "c-1" });
    assert.equal(a.status, 201);
    assert.equal(a.body.created, true);
    const b = await t.api("POST", "/api/v1/sessions", { client_id: "c-1", bot_id: "default" });
    assert.deepEqual(b.body, { session_id: a.body.session_id, created: false });
  });

  test("concurrent creates of one session make one", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => t.api("POST", "/api/v1/sessions", { client_id: "race" })),
    );
    assert.equal(new Set(results.map((r) => r.body.session_id)).size, 1);
    assert.equal(results.filter((r) => r.body.created).length, 1);
  });

  test("unknown bot → 422 (well-formed, refused on meaning)", async () => {
    const r = await t.api("POST", "/api/v1/sessions", { client_id: "c", bot_id: "ghost" });
    assert.deepEqual(r, { status: 422, body: { detail: "Unknown bot: ghost" } });
  });

  test("messages are stored once and listed newest-limit oldest first", async () => {
    const sid = await t.session("history");
    for (let i = 0; i < 5; i++) {
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, { content: `m${i}` });
      assert.equal(r.status, 201);
      assert.equal(r.body.session_id, sid);
      assert.equal(r.body.task_id, null);
    }
    const all = await t.api("GET", `/api/v1/sessions/${sid}/messages`);
    assert.deepEqual(
      all.body.map((m: any) => m.content),
      ["m0", "m1", "m2", "m3", "m4"],
    );
    assert.equal(all.body[0].role, "user");
    assert.equal(all.body[0].metadata.source, "api");
    const last2 = await t.api("GET", `/api/v1/sessions/${sid}/messages?limit=2`);
    assert.deepEqual(
      last2.body.map((m: any) => m.content),
      ["m3", "m4"],
    );
    assert.equal(t.llm.requests.length, 0, "no agent ran without run_agent");
  });

  test("unknown session → 404", async () => {
    const r = await t.api(
      "POST",
      "/api/v1/sessions/00000000-0000-0000-0000-000000000000/messages",
      { content: "x" },
    );
    assert.deepEqual(r, { status: 404, body: { detail: "Session not found" } });
  });

  test("bad JSON, wrong types and oversized bodies are refused and store nothing", async () => {
    const sid = await t.session("bad-input");
    const badJson = await t.api("POST", `/api/v1/sessions/${sid}/messages`, undefined, {
      raw: "{nope",
    });
    assert.equal(badJson.status, 400);
    assert.match(badJson.body.detail, /not valid JSON/);
    const wrongType = await t.api("POST", `/api/v1/sessions/${sid}/messages`, { content: 42 });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.body.detail, /content/);
    const extra = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
      content: "x",
      run_agnet: true,
    });
    assert.equal(
      extra.status,
      400,
      "an unknown (misspelt) field is an error, not silently ignored",
    );
    const empty = await t.api("POST", `/api/v1/sessions/${sid}/messages`, undefined, { raw: "" });
    assert.equal(empty.status, 400);
    const big = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
      content: "x".repeat(1024 * 1024 + 10),
    });
    assert.equal(big.status, 413);
    assert.match(big.body.detail, /larger than/);
    const list = await t.api("GET", `/api/v1/sessions/${sid}/messages`);
    assert.deepEqual(list.body, []);
  });
});

describe("bots (admin)", () => {
  test("create, read, update, delete", async () => {
    const c = await t.api("POST", "/api/v1/admin/bots", {
      id: "reviewer",
      system_prompt: "Review code.",
      model: "openai-compatible:other",
      tools: ["a"],
    });
    assert.equal(c.status, 201);
    assert.equal(c.body.model, "openai-compatible:other");
    assert.equal((await t.api("POST", "/api/v1/admin/bots", { id: "reviewer" })).status, 409);
    const u = await t.api("PUT", "/api/v1/admin/bots/reviewer", { system_prompt: "Be brief." });
    assert.equal(u.body.system_prompt, "Be brief.");
    assert.deepEqual(u.body.tools, ["a"]);
    const bad = await t.api("PUT", "/api/v1/admin/bots/reviewer", { model: "nope" });
    assert.equal(bad.status, 400);
    const list = await t.api("GET", "/api/v1/admin/bots");
    assert.deepEqual(
      list.body.map((b: any) => b.id),
      ["default", "reviewer"],
    );
    assert.equal((await t.api("DELETE", "/api/v1/admin/bots/reviewer")).status, 204);
    assert.equal((await t.api("GET", "/api/v1/admin/bots/reviewer")).status, 404);
  });
});

test("OpenAPI document lists the routes with their scopes", async () => {
  const r = await t.api("GET", "/api/v1/openapi.json", undefined, { key: null });
  assert.equal(r.status, 200);
  assert.equal(r.body.openapi, "3.1.0");
  const op = r.body.paths["/api/v1/sessions/{id}/messages"].post;
  assert.deepEqual(op.security, [{ bearer: ["sessions:write"] }]);
  assert.ok(op.requestBody.content["application/json"].schema.properties.content);
  assert.ok(r.body.paths["/api/v1/tasks/{id}/cancel"].post);
});
