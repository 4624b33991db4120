/**
 * The webhook adapter's callback goes through the server's one outbound client, so the
 * SSRF guard holds for it (SWITCHYARD_ALLOW_PRIVATE_URLS=false): a callback URL whose
 * name resolves to a private address is never dialled, its reply delivery is dead with the
 * reason, and a public name is dialled at its checked address. Host names come from an
 * injected resolver; the connector spy dials only 127.0.0.1 (the "public" address is
 * recorded, never dialled). Nothing here sends traffic outside 127.0.0.0/8.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { buildConnector } from "undici";
import type { Connector } from "../src/outbox/connector.ts";
import type { Resolver } from "../src/outbox/ssrf.ts";
import { postWebhookMessage, WEBHOOK_ADAPTER_SECRET } from "./fixtures/webhook-adapter.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";

const resolver: Resolver = async (hostname) => {
  const table: Record<string, string> = {
    "callback.internal": "10.1.2.3",
    "callback.public": "93.184.216.34",
  };
  const address = table[hostname];
  if (!address)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  return [{ address, family: 4 }];
};

describe("webhook adapter callback behind the SSRF guard", () => {
  let t: TestApp;
  let cb: CaptureServer;
  const asked: string[] = [];
  const real = buildConnector({});
  const connector: Connector = (options, callback) => {
    asked.push(options.hostname);
    const port = new URL(cb.url).port;
    real({ ...options, hostname: "127.0.0.1", host: `127.0.0.1:${port}`, port }, callback);
  };

  before(async () => {
    cb = await startCaptureServer();
    t = await startTestApp({
      env: {
        SWITCHYARD_ALLOW_PRIVATE_URLS: "false",
        WEBHOOK_ADAPTER_SECRET,
        WEBHOOK_ADAPTER_CALLBACK_URL: "http://callback.internal/reply",
      },
      tuning: {
        deliveryScheduleMs: [20, 20],
        httpRetryDelayMs: 5,
        pollMs: 50,
        resolver,
        connector,
      },
    });
  });
  after(async () => {
    await t?.close();
    await cb?.close();
  });

  /** Sends a direct message; returns its task's reply delivery once settled. */
  async function converse(text: string): Promise<any> {
    const { body: r } = await postWebhookMessage(t.url, {
      conversation: `c-${randomUUID()}`,
      user: { id: "u1" },
      text,
    });
    assert.equal(r.status, "run", JSON.stringify(r));
    await t.waitForTask(r.task_id);
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const list = (
        await t.api("GET", `/api/v1/deliveries?task_id=${r.task_id}&target_type=webhook-adapter`)
      ).body as any[];
      const reply = list.find((d) => d.status === "delivered" || d.status === "dead");
      if (reply) return reply;
      await new Promise((res2) => setTimeout(res2, 20));
    }
    throw new Error("reply delivery not settled");
  }

  test("a callback name resolving to a private address is never dialled; the reply is dead with the reason", async () => {
    const d = await converse("hello private");
    assert.equal(d.status, "dead", JSON.stringify(d));
    assert.match(d.last_error, /destination not allowed: private/);
    assert.deepEqual(asked, [], "nothing was dialled");
    assert.equal(cb.requests.length, 0);
  });

  test("a public callback name is dialled at its checked address", async () => {
    const put = await t.api("PUT", "/api/v1/admin/integrations/webhook/settings", {
      settings: { WEBHOOK_ADAPTER_CALLBACK_URL: "http://callback.public/reply" },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const d = await converse("hello public");
    assert.equal(d.status, "delivered", JSON.stringify(d));
    assert.deepEqual(asked, ["93.184.216.34"]);
    assert.equal(cb.requests.length, 1);
    assert.equal(cb.requests[0]!.json.text, "echo: hello public");
  });
});
