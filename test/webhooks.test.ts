// Event webhook subscriptions, signed deliveries and the deliveries API, over real HTTP on
// 127.0.0.1. Signatures are checked with the `standardwebhooks` library and an independent
// createHmac. The SSRF cases are in webhooks-ssrf.test.ts.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, afterEach, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { EVENT_NAMES } from "../src/events/outbound-types.ts";
import { secretProblem, signatureHeaders } from "../src/outbox/signing.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import {
  type CapturedRequest,
  type CaptureServer,
  startCaptureServer,
} from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

const SECRET = "sup3r-s3cret-never-shown-0123";
const WHSEC = `whsec_${Buffer.from("a 32 byte key for standard hooks").toString("base64")}`;
const TUNING = {
  deliveryScheduleMs: [20, 20],
  httpRetryDelayMs: 5,
  httpTimeoutMs: 2000,
  pollMs: 50,
};

/** The request's headers as strings (what `Webhook.verify` takes). */
function headersOf(r: CapturedRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === "string") out[k] = v;
  return out;
}

async function until<T>(fn: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("signing (unit)", () => {
  test("Standard Webhooks and X-AMS-Signature verify independently; fresh per attempt", () => {
    const body = JSON.stringify({ event: "task.sync", data: { a: 1 } });
    const h = signatureHeaders("msg_1", body, SECRET);
    assert.equal(h["webhook-id"], "msg_1");
    new Webhook(SECRET, { format: "raw" }).verify(body, h);
    assert.equal(h["x-ams-signature"], createHmac("sha256", SECRET).update(body).digest("hex"));
    const later = signatureHeaders("msg_1", body, SECRET, new Date(Date.now() + 2000));
    assert.notEqual(later["webhook-signature"], h["webhook-signature"]);
    // whsec_ secrets are base64 keys (Standard Webhooks spec).
    const w = signatureHeaders("msg_2", body, WHSEC);
    new Webhook(WHSEC).verify(body, w);
    // No secret: id and timestamp, no signatures.
    assert.deepEqual(Object.keys(signatureHeaders("m", body, null)).sort(), [
      "webhook-id",
      "webhook-timestamp",
    ]);
    assert.equal(
      secretProblem("whsec_!!"),
      "a secret starting with whsec_ must be followed by a non-empty base64 key",
    );
    assert.equal(secretProblem("plain"), null);
  });
});

for (const backend of ALL_BACKENDS) {
  describe(`webhook subscriptions and deliveries on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    const captures: CaptureServer[] = [];
    const capture = async () => {
      const c = await startCaptureServer();
      captures.push(c);
      return c;
    };
    /** Every response body seen, to check that the secret never appears in one. */
    const seen: string[] = [];
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await t.api(method, path, body);
      seen.push(JSON.stringify(r.body));
      return r;
    };
    const register = async (url: string, extra: Record<string, unknown> = {}) => {
      const r = await api("POST", "/api/v1/webhooks", { url, ...extra });
      assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
      return r.body.webhook;
    };
    const emit = async (event: string, payload?: unknown) => {
      const r = await api("POST", "/api/v1/events", { event, payload });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    const delivery = async (id: string) => (await api("GET", `/api/v1/deliveries/${id}`)).body;

    before(async () => {
      t = await startTestApp({
        backend,
        env: { SWITCHYARD_SECRET_KEY: "test-secret-key-0123456789" },
        tuning: TUNING,
      });
    });
    afterEach(async () => {
      for (const w of (await t.api("GET", "/api/v1/webhooks")).body) {
        await t.api("DELETE", `/api/v1/webhooks/${w.id}`);
      }
    });
    after(async () => {
      await t.close();
      for (const c of captures) await c.close();
    });

    test("register or update by URL; no duplicates, even concurrently; delete", async () => {
      const url = "http://127.0.0.1:9/register";
      const a = await api("POST", "/api/v1/webhooks", {
        url,
        events: ["task.created"],
        secret: SECRET,
      });
      assert.equal(a.status, 201);
      assert.equal(a.body.created, true);
      assert.deepEqual(Object.keys(a.body.webhook).sort(), [
        "created_at",
        "disabled_at",
        "events",
        "has_secret",
        "id",
        "updated_at",
        "url",
      ]);
      assert.equal(a.body.webhook.has_secret, true);
      const b = await api("POST", "/api/v1/webhooks", { url, events: ["session.start"] });
      assert.equal(b.status, 200);
      assert.equal(b.body.created, false);
      assert.equal(b.body.webhook.id, a.body.webhook.id);
      assert.deepEqual(b.body.webhook.events, ["session.start"]);
      assert.equal(b.body.webhook.has_secret, true, "an omitted secret is kept");
      assert.ok(b.body.webhook.updated_at > a.body.webhook.updated_at, "updated_at moves");
      assert.equal(b.body.webhook.created_at, a.body.webhook.created_at);
      const c = await api("POST", "/api/v1/webhooks", { url, secret: "" });
      assert.equal(c.body.webhook.has_secret, false, '"" removes the secret');
      assert.deepEqual(c.body.webhook.events, ["session.start"], "omitted events are kept");
      const d = await api("POST", "/api/v1/webhooks", { url, events: [] });
      assert.deepEqual(d.body.webhook.events, [], "[] = all events");

      const racing = "http://127.0.0.1:9/racing";
      const all = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          api("POST", "/api/v1/webhooks", { url: racing, events: i % 2 ? ["error"] : [] }),
        ),
      );
      assert.equal(all.filter((r) => r.body.created === true).length, 1);
      assert.equal(new Set(all.map((r) => r.body.webhook.id)).size, 1);
      const list = (await api("GET", "/api/v1/webhooks")).body as any[];
      assert.equal(list.filter((w) => w.url === racing).length, 1);
      assert.equal(list.length, 2);

      const del = await api("DELETE", `/api/v1/webhooks/${a.body.webhook.id}`);
      assert.deepEqual(del.body, { removed: true, webhook_id: a.body.webhook.id });
      const again = await api("DELETE", `/api/v1/webhooks/${a.body.webhook.id}`);
      assert.deepEqual(again, { status: 404, body: { detail: "Webhook not found" } });
    });

    test("bad input: unknown events (400 listing the valid ones), non-http URLs (422), bad secret", async () => {
      const r = await api("POST", "/api/v1/webhooks", {
        url: "http://127.0.0.1:9/x",
        events: ["task.created", "task.exploded"],
      });
      assert.equal(r.status, 400);
      assert.match(r.body.detail, /task\.exploded/);
      for (const name of EVENT_NAMES) assert.ok(r.body.detail.includes(name), name);
      for (const url of [
        "ftp://127.0.0.1/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "nope",
      ]) {
        const bad = await api("POST", "/api/v1/webhooks", { url });
        assert.equal(bad.status, 422, url);
        assert.match(bad.body.detail, /http/);
      }
      assert.equal((await api("POST", "/api/v1/webhooks", {})).status, 400);
      const secret = await api("POST", "/api/v1/webhooks", {
        url: "http://127.0.0.1:9/s",
        secret: "whsec_%%",
      });
      assert.equal(secret.status, 422);
      const ev = await api("POST", "/api/v1/events", { event: "nope" });
      assert.equal(ev.status, 400);
      assert.match(ev.body.detail, /valid events: session\.start/);
      assert.deepEqual((await api("GET", "/api/v1/webhooks")).body, []);
    });

    test("signed deliveries verify (standardwebhooks + createHmac); unsigned ones carry id and timestamp", async () => {
      const hook = await capture();
      const raw = await register(`${hook.url}/raw`, { events: ["task.sync"], secret: SECRET });
      const wh = await register(`${hook.url}/whsec`, { events: ["task.sync"], secret: WHSEC });
      const plain = await register(`${hook.url}/plain`, { events: ["task.sync"] });
      await register(`${hook.url}/other`, { events: ["session.end"], secret: SECRET });
      const out = await emit("task.sync", { project: "p1", n: 3 });
      assert.equal(out.event, "task.sync");
      assert.equal(out.sent, 3);
      assert.equal(out.failed, 0);
      assert.equal(out.skipped, 1);
      const byPath = new Map(hook.requests.map((r) => [r.path, r]));
      const ids = new Map(out.deliveries.map((d: any) => [d.webhook_id, d.delivery_id]));

      const r1 = byPath.get("/raw")!;
      assert.deepEqual(r1.json.data, { project: "p1", n: 3 });
      assert.equal(r1.json.event, "task.sync");
      assert.ok(!Number.isNaN(Date.parse(r1.json.timestamp)));
      assert.equal(r1.headers["content-type"], "application/json");
      assert.equal(r1.headers["webhook-id"], ids.get(raw.id));
      new Webhook(SECRET, { format: "raw" }).verify(r1.body, headersOf(r1));
      assert.equal(
        r1.headers["x-ams-signature"],
        createHmac("sha256", SECRET).update(r1.body).digest("hex"),
      );

      const r2 = byPath.get("/whsec")!;
      new Webhook(WHSEC).verify(r2.body, headersOf(r2));
      assert.equal(
        r2.headers["x-ams-signature"],
        createHmac("sha256", WHSEC).update(r2.body).digest("hex"),
      );
      assert.throws(() =>
        new Webhook("whsec_" + Buffer.from("wrong").toString("base64")).verify(
          r2.body,
          headersOf(r2),
        ),
      );

      const r3 = byPath.get("/plain")!;
      assert.equal(r3.headers["webhook-id"], ids.get(plain.id));
      assert.match(String(r3.headers["webhook-timestamp"]), /^\d+$/);
      assert.equal(r3.headers["webhook-signature"], undefined);
      assert.equal(r3.headers["x-ams-signature"], undefined);
      assert.ok(wh.has_secret && !plain.has_secret);
    });

    test("500, 500, 200: delivered on the third try with one webhook-id, each try signed afresh", async () => {
      const hook = await capture();
      hook.setResponder((_r, i) => (i < 2 ? { status: 500 } : undefined));
      await register(hook.url, { events: ["roadmap.exported"], secret: SECRET });
      const out = await emit("roadmap.exported", { v: 1 });
      assert.equal(out.sent, 1);
      assert.equal(out.deliveries[0].status, "delivered");
      assert.equal(out.deliveries[0].http_status, 200);
      assert.equal(hook.requests.length, 3);
      const id = out.deliveries[0].delivery_id;
      for (const r of hook.requests) {
        assert.equal(r.headers["webhook-id"], id);
        assert.equal(r.body, hook.requests[0]!.body, "the same bytes every time");
        new Webhook(SECRET, { format: "raw" }).verify(r.body, headersOf(r));
      }
      const d = await delivery(id);
      assert.equal(d.status, "delivered");
      assert.equal(d.last_status, 200);
      assert.equal(d.target_type, "event");
      assert.ok(d.delivered_at);
    });

    test("410 disables the subscription: delivery dead, listed with disabled_at, later events skip it", async () => {
      const hook = await capture();
      hook.setResponder(() => ({ status: 410 }));
      const w = await register(hook.url, { events: ["task.sync"] });
      const out = await emit("task.sync");
      assert.equal(out.failed, 1);
      assert.equal(out.deliveries[0].status, "dead");
      assert.equal(out.deliveries[0].http_status, 410);
      assert.equal(hook.requests.length, 1, "410 is not retried");
      const listed = (await api("GET", "/api/v1/webhooks")).body.find((x: any) => x.id === w.id);
      assert.ok(listed.disabled_at);
      const next = await emit("task.sync");
      assert.deepEqual([next.sent, next.failed, next.skipped], [0, 0, 1]);
      assert.equal(hook.requests.length, 1);
      // Registering it again enables it.
      hook.setResponder(() => undefined);
      assert.equal((await register(hook.url, { events: ["task.sync"] })).disabled_at, null);
      assert.equal((await emit("task.sync")).sent, 1);
    });

    test("dead after the schedule, then replay: delivered with the same webhook-id", async () => {
      const hook = await capture();
      let up = false;
      hook.setResponder(() => (up ? undefined : { status: 503 }));
      const w = await register(hook.url, { events: ["error"], secret: SECRET });
      const out = await emit("error", { boom: true });
      assert.equal(out.deliveries[0].status, "failed");
      const id = out.deliveries[0].delivery_id;
      const dead = await until(async () => {
        const d = await delivery(id);
        return d.status === "dead" ? d : undefined;
      }, "delivery to go dead");
      assert.equal(dead.attempts, 3, "first attempt + the two scheduled ones");
      assert.equal(dead.last_status, 503);
      assert.equal(hook.requests.length, 9, "3 tries inline per attempt");

      const listed = (await api("GET", `/api/v1/deliveries?status=dead&subscription_id=${w.id}`))
        .body;
      assert.deepEqual(
        listed.map((d: any) => d.id),
        [id],
      );
      assert.equal(
        (await api("POST", "/api/v1/deliveries/0190ffff-0000-7000-8000-000000000000/replay"))
          .status,
        404,
      );

      // A replay that fails runs the whole schedule again, not one try and dead.
      assert.equal((await api("POST", `/api/v1/deliveries/${id}/replay`)).status, 200);
      const deadAgain = await until(async () => {
        const d = await delivery(id);
        return d.status === "dead" && hook.requests.length >= 18 ? d : undefined;
      }, "the failed replay to go dead after its schedule");
      assert.equal(deadAgain.attempts, 3);
      assert.equal(hook.requests.length, 18);

      up = true;
      hook.setResponder(() => ({ delayMs: 300 }));
      const replay = await api("POST", `/api/v1/deliveries/${id}/replay`);
      assert.equal(replay.status, 200);
      assert.equal(replay.body.status, "pending");
      assert.equal((await api("POST", `/api/v1/deliveries/${id}/replay`)).status, 409);
      const done = await until(async () => {
        const d = await delivery(id);
        return d.status === "delivered" ? d : undefined;
      }, "replay to be delivered");
      assert.equal(done.last_status, 200);
      const last = hook.requests.at(-1)!;
      assert.equal(last.headers["webhook-id"], id);
      new Webhook(SECRET, { format: "raw" }).verify(last.body, headersOf(last));
      assert.ok(hook.requests.every((r) => r.headers["webhook-id"] === id));
    });

    test("deliveries list: filters, paging, fields; no payload and no secrets", async () => {
      const hook = await capture();
      const w = await register(hook.url, { events: ["task.sync"], secret: SECRET });
      for (let i = 0; i < 3; i++) await emit("task.sync", { i });
      const all = (await api("GET", `/api/v1/deliveries?subscription_id=${w.id}`)).body;
      assert.equal(all.length, 3);
      assert.deepEqual(Object.keys(all[0]).sort(), [
        "attempts",
        "created_at",
        "delivered_at",
        "destination",
        "id",
        "last_error",
        "last_status",
        "next_attempt_at",
        "status",
        "subscription_id",
        "target",
        "target_type",
        "task_id",
        "updated_at",
      ]);
      assert.deepEqual(all[0].target, { timeout_ms: 15000, retry_count: 2 });
      const page1 = (await api("GET", `/api/v1/deliveries?subscription_id=${w.id}&limit=2`)).body;
      const page2 = (
        await api("GET", `/api/v1/deliveries?subscription_id=${w.id}&limit=2&before=${page1[1].id}`)
      ).body;
      assert.deepEqual(
        [...page1, ...page2].map((d: any) => d.id),
        all.map((d: any) => d.id),
      );
      assert.equal((await api("GET", "/api/v1/deliveries?status=bogus")).status, 400);
      const one = await delivery(all[0].id);
      assert.deepEqual(one.payload.data, { i: 2 });
      assert.equal((await api("GET", "/api/v1/deliveries/nope")).status, 404);
    });

    test("a 3xx answer is a failure and its Location is never followed", async () => {
      const target = await capture();
      const hook = await capture();
      hook.setResponder(() => ({ status: 302, headers: { location: `${target.url}/stolen` } }));
      await register(hook.url, { events: ["task.sync"] });
      const out = await emit("task.sync");
      assert.equal(out.deliveries[0].status, "failed");
      assert.equal(out.deliveries[0].http_status, 302);
      assert.match(out.deliveries[0].error, /redirect not followed/);
      await until(async () => {
        const d = await delivery(out.deliveries[0].delivery_id);
        return d.status === "dead" ? d : undefined;
      }, "redirected delivery to go dead");
      assert.equal(hook.requests.length, 3, "retried on the schedule, not inline");
      assert.equal(target.requests.length, 0);
    });

    test("the secret never appears in any response", async () => {
      const hook = await capture();
      const w = await register(hook.url, { secret: SECRET });
      await register(hook.url, { secret: SECRET, events: ["task.sync"] });
      const out = await emit("task.sync", { note: "hello" });
      await api("GET", "/api/v1/webhooks");
      await api("GET", "/api/v1/deliveries");
      await api("GET", `/api/v1/deliveries/${out.deliveries[0].delivery_id}`);
      await api("POST", `/api/v1/deliveries/${out.deliveries[0].delivery_id}/replay`);
      await api("DELETE", `/api/v1/webhooks/${w.id}`);
      await api("GET", "/api/v1/openapi.json");
      assert.ok(seen.length > 20);
      for (const body of seen) assert.ok(!body.includes(SECRET), `secret leaked in ${body}`);
      // At rest it is encrypted (SWITCHYARD_SECRET_KEY is set).
      await register(hook.url, { secret: SECRET });
      const rows = await t.app.store.db.kysely
        .selectFrom("webhook_subscriptions")
        .select(["secret", "secret_encrypted"])
        .execute();
      assert.ok(rows.length > 0);
      for (const r of rows) {
        assert.ok(!String(r.secret).includes(SECRET));
        assert.equal(Number(r.secret_encrypted), 1);
      }
    });
  });
}
