/**
 * Issue 11, "one error policy" (README "Errors", OpenAPI info.description): malformed JSON
 * 400; a body or query that breaks the route's schema 400 naming the field; a well-formed
 * request refused on meaning 422; unknown path 404; wrong method 405 with `Allow`; a body
 * that is not JSON 415 with the curl hint; the key is checked before the body is read;
 * unknown query parameters and malformed cursors 400; DELETE of an unknown id 404. Each
 * rule once, then a sweep over every route of the OpenAPI document.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { tempDir } from "./support/db.ts";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

describe("error policy", () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  const send = async (
    method: string,
    path: string,
    opts: { body?: string; type?: string | null; key?: string | null } = {},
  ) => {
    const headers: Record<string, string> = {};
    const key = opts.key === undefined ? TEST_API_KEY : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    if (opts.type) headers["content-type"] = opts.type;
    const r = await fetch(`${t.url}${path}`, { method, headers, body: opts.body });
    const text = await r.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: r.status, body, allow: r.headers.get("allow") };
  };

  test("malformed JSON: 400 {detail}", async () => {
    const r = await send("POST", "/api/v1/sessions", { body: "{nope", type: "application/json" });
    assert.deepEqual(r.body, { detail: "Request body is not valid JSON" });
    assert.equal(r.status, 400);
  });

  test("schema violations are 400 naming the field, in a body and in a query", async () => {
    const body = await t.api("POST", "/api/v1/sessions", { client_id: 42 });
    assert.equal(body.status, 400);
    assert.match(body.body.detail, /client_id/);
    const query = await t.api("GET", "/api/v1/documents/search");
    assert.equal(query.status, 400, JSON.stringify(query.body));
    assert.match(query.body.detail, /\bq\b/);
  });

  test("a well-formed request refused on meaning: 422 (an unknown bot)", async () => {
    const r = await t.api("POST", "/api/v1/sessions", { client_id: "c", bot_id: "ghost" });
    assert.deepEqual(r, { status: 422, body: { detail: "Unknown bot: ghost" } });
  });

  test("unknown path: 404 {detail}", async () => {
    const r = await send("GET", "/api/v1/nothing-here");
    assert.deepEqual(r, { status: 404, body: { detail: "Not found" }, allow: null });
  });

  test("a path that exists under another method: 405 with Allow", async () => {
    const r = await send("DELETE", "/api/v1/sessions");
    assert.equal(r.status, 405);
    assert.equal(r.allow, "GET, HEAD, POST");
    assert.match(r.body.detail, /DELETE.*not allowed.*GET, HEAD, POST/);
    const param = await send("PUT", "/api/v1/sessions/some-id/messages");
    assert.equal(param.status, 405);
    assert.equal(param.allow, "GET, HEAD, POST");
  });

  test("a body without a JSON content type: 415 with the curl hint", async () => {
    const json = JSON.stringify({ client_id: "ct" });
    for (const type of [null, "application/x-www-form-urlencoded", "text/plain"]) {
      const r = await send("POST", "/api/v1/sessions", { body: json, type });
      assert.equal(r.status, 415, `${type}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.detail, /-H 'content-type: application\/json'/);
    }
    const ok = await send("POST", "/api/v1/sessions", {
      body: json,
      type: "application/json; charset=utf-8",
    });
    assert.equal(ok.status, 201);
  });

  test("the key is checked before the body is read: 401 for malformed or oversized bodies", async () => {
    for (const key of [null, "not-a-key"]) {
      const bad = await send("POST", "/api/v1/sessions", {
        body: "{nope",
        type: "application/json",
        key,
      });
      assert.equal(bad.status, 401, JSON.stringify(bad.body));
      const noType = await send("POST", "/api/v1/sessions", { body: "x=1", type: null, key });
      assert.equal(noType.status, 401, JSON.stringify(noType.body));
    }
    const huge = await send("POST", "/api/v1/documents", {
      body: `{"content":"${"x".repeat(3 * 1024 * 1024)}"}`,
      type: "application/json",
      key: null,
    });
    assert.equal(huge.status, 401, JSON.stringify(huge.body).slice(0, 200));
    const { key: reader } = await t.app.store.apiKeys.create("reader", ["sessions:read"]);
    const scope = await send("POST", "/api/v1/sessions", {
      body: "{nope",
      type: "application/json",
      key: reader,
    });
    assert.deepEqual(scope.body, { detail: "Missing required scope: sessions:write" });
  });

  test("unknown query parameters: 400 naming the parameter", async () => {
    const sid = await t.session("query");
    const r = await t.api("GET", `/api/v1/sessions/${sid}/messages?limit=2&limt=3`);
    assert.equal(r.status, 400);
    assert.match(r.body.detail, /limt/);
    const none = await t.api("GET", `/api/v1/sessions/${sid}?verbose=1`);
    assert.equal(none.status, 400);
    assert.match(none.body.detail, /verbose/);
    assert.equal((await t.api("GET", `/api/v1/sessions/${sid}/messages?limit=2`)).status, 200);
  });

  test("a malformed cursor: 400", async () => {
    const r = await t.api("GET", "/api/v1/deliveries?before=not-an-id");
    assert.equal(r.status, 400);
    assert.match(r.body.detail, /before/);
    const ok = await t.api(
      "GET",
      "/api/v1/deliveries?before=0192f7c1-7a3e-7c01-8a4f-3b2d1e0f9a8b&limit=5",
    );
    assert.equal(ok.status, 200);
  });

  test("DELETE of an unknown webhook id: 404", async () => {
    const r = await t.api("DELETE", "/api/v1/webhooks/does-not-exist");
    assert.deepEqual(r, { status: 404, body: { detail: "Webhook not found" } });
  });

  test("the policy is written in the OpenAPI document", async () => {
    const doc = (await t.api("GET", "/api/v1/openapi.json")).body;
    assert.match(doc.info.description, /405/);
    assert.match(doc.info.description, /415/);
    const post = doc.paths["/api/v1/sessions/{id}/messages"].post;
    for (const status of ["400", "401", "403", "404", "415", "422"]) {
      assert.ok(post.responses[status], `POST messages documents ${status}`);
    }
    assert.deepEqual(post.responses["400"], { $ref: "#/components/responses/BadRequest" });
  });

  describe("sweep over the OpenAPI document", () => {
    let routes: Array<{ pattern: RegExp; path: string; concrete: string; methods: Set<string> }>;
    before(async () => {
      const doc = (await t.api("GET", "/api/v1/openapi.json")).body;
      const paths = Object.entries(doc.paths as Record<string, Record<string, any>>);
      routes = paths.map(([path, ops]) => ({
        path,
        pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+").replace(/\*$/, ".+")}$`),
        concrete: path.replace(/\{[^}]+\}/g, "does-not-exist").replace(/\*$/, "does/not/exist"),
        methods: new Set(Object.keys(ops).map((m) => m.toUpperCase())),
      }));
      assert.ok(routes.length > 20, "the document lists the API");
    });

    /** Every method any documented path template matching `concrete` answers. */
    const allowed = (concrete: string) => {
      const out = new Set<string>();
      for (const r of routes) if (r.pattern.test(concrete)) for (const m of r.methods) out.add(m);
      if (out.has("GET")) out.add("HEAD");
      return out;
    };

    test("every path under a method it lacks: 405 with Allow listing exactly its methods", async () => {
      let checked = 0;
      for (const r of routes) {
        const methods = allowed(r.concrete);
        const expected = [...methods].sort().join(", ");
        for (const m of METHODS) {
          if (methods.has(m)) continue;
          const res = await send(m, r.concrete);
          assert.equal(res.status, 405, `${m} ${r.concrete}: ${JSON.stringify(res.body)}`);
          assert.equal(res.allow, expected, `${m} ${r.concrete}`);
          assert.deepEqual(Object.keys(res.body), ["detail"]);
          checked++;
        }
      }
      assert.ok(checked > 50, `${checked} checked`);
    });

    test("every DELETE of an unknown id: 404 {detail}", async () => {
      // Routes that name something by id; `DELETE /auth/session` (sign out) names none and
      // is idempotent (204 even without a session).
      const deletes = routes.filter((r) => r.methods.has("DELETE") && r.path.includes("{"));
      assert.ok(deletes.length >= 4);
      for (const r of deletes) {
        const res = await send("DELETE", r.concrete);
        assert.equal(res.status, 404, `DELETE ${r.concrete}: ${JSON.stringify(res.body)}`);
        assert.deepEqual(Object.keys(res.body), ["detail"]);
      }
    });

    test("every GET refuses an unknown query parameter with 400 naming it", async () => {
      for (const r of routes.filter((x) => x.methods.has("GET"))) {
        const res = await send("GET", `${r.concrete}?zz_unknown=1`);
        assert.equal(res.status, 400, `GET ${r.concrete}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.detail, /zz_unknown/);
      }
    });

    test("every route with a scope: 401 without a key even when the body is malformed", async () => {
      const doc = (await t.api("GET", "/api/v1/openapi.json")).body;
      let checked = 0;
      for (const r of routes) {
        for (const m of r.methods) {
          if (!doc.paths[r.path][m.toLowerCase()].security) continue;
          const withBody = m !== "GET" && m !== "DELETE";
          const res = await send(m, r.concrete, {
            key: null,
            ...(withBody ? { body: "{nope", type: "application/json" } : {}),
          });
          assert.equal(res.status, 401, `${m} ${r.concrete}: ${JSON.stringify(res.body)}`);
          checked++;
        }
      }
      assert.ok(checked > 20, `${checked} checked`);
    });
  });
});

describe("error policy on an integration's routes", () => {
  let t: TestApp;
  const dir = tempDir();
  before(async () => {
    const folder = join(dir.path, "echo");
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, "router.ts"),
      'export default async (app) => { app.post("/echo", { config: { auth: "sessions:write" } }, async (req) => ({ got: req.body })); };\n',
    );
    t = await startTestApp({ env: { INTEGRATION_DIRS: dir.path } });
  });
  after(async () => {
    await t.close();
    dir.remove();
  });

  test("a scoped route: 401 before the body is parsed; 405 with Allow under another method", async () => {
    const bad = await t.api("POST", "/integrations/echo/echo", undefined, {
      key: null,
      raw: "{nope",
    });
    assert.equal(bad.status, 401, JSON.stringify(bad.body));
    const ok = await t.api("POST", "/integrations/echo/echo", { a: 1 });
    assert.deepEqual(ok, { status: 200, body: { got: { a: 1 } } });
    const r = await fetch(`${t.url}/integrations/echo/echo`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "POST");
  });
});
