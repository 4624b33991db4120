// SSRF guard on event webhook subscriptions, at registration and at connect time, with
// SWITCHYARD_ALLOW_PRIVATE_URLS=false. Host names come from an injected resolver and the
// connector spy only ever dials 127.0.0.1 (fake "public" addresses are recorded, never
// dialled). Nothing here sends traffic outside 127.0.0.0/8.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { buildConnector } from "undici";
import type { Connector } from "../src/outbox/connector.ts";
import type { Resolver } from "../src/outbox/ssrf.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";

const TUNING = {
  deliveryScheduleMs: [20, 20],
  httpRetryDelayMs: 5,
  httpTimeoutMs: 2000,
  pollMs: 50,
};

/** A resolver from a fixed table; unknown names fail like DNS does. */
function tableResolver(table: Record<string, () => string>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const fn: Resolver = async (hostname) => {
    calls.push(hostname);
    const pick = table[hostname];
    if (!pick)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    const address = pick();
    return [{ address, family: address.includes(":") ? 6 : 4 }];
  };
  return Object.assign(fn, { calls });
}

/** Records the address the guard asks for, then dials 127.0.0.1:port, never that address. */
function spyConnector(port: () => number): Connector & { asked: string[]; dialled: string[] } {
  const asked: string[] = [];
  const dialled: string[] = [];
  const real = buildConnector({});
  const fn: Connector = (options, callback) => {
    asked.push(options.hostname);
    dialled.push("127.0.0.1");
    real(
      { ...options, hostname: "127.0.0.1", host: `127.0.0.1:${port()}`, port: String(port()) },
      callback,
    );
  };
  return Object.assign(fn, { asked, dialled });
}

describe("SSRF guard on subscriptions (SWITCHYARD_ALLOW_PRIVATE_URLS=false)", () => {
  let t: TestApp;
  let hook: CaptureServer;
  let rebindCalls = 0;
  const resolver = tableResolver({
    "public.example": () => "93.184.216.34",
    "internal.example": () => "10.1.2.3",
    "meta.example": () => "169.254.169.254",
    "mapped.example": () => "::ffff:192.168.0.1",
    "rebind.example": () => (rebindCalls++ === 0 ? "93.184.216.34" : "10.0.0.5"),
  });
  const spy = spyConnector(() => Number(new URL(hook.url).port));

  before(async () => {
    hook = await startCaptureServer();
    t = await startTestApp({
      env: { SWITCHYARD_ALLOW_PRIVATE_URLS: "false" },
      tuning: { ...TUNING, resolver, connector: spy },
    });
  });
  after(async () => {
    await t.close();
    await hook.close();
  });

  test("private, loopback, metadata, CGNAT, IPv4-mapped and obfuscated literals are refused", async () => {
    const cases: Array<[string, RegExp]> = [
      ["http://127.0.0.1:8080/h", /loopback/],
      ["http://localhost.:1/h", /unresolvable|loopback/],
      ["http://10.0.0.1/h", /private/],
      ["http://192.168.1.10/h", /private/],
      ["http://169.254.169.254/latest/meta-data", /metadata/],
      ["http://169.254.1.1/", /link-local/],
      ["http://100.64.0.1/", /carrier-grade NAT/],
      ["http://[::1]/h", /loopback/],
      ["http://[::ffff:127.0.0.1]/h", /IPv4-mapped/],
      ["http://[::ffff:a00:1]/h", /private \(IPv4-mapped\)/],
      ["http://[fd00:ec2::254]/", /metadata/],
      ["http://2130706433/h", /loopback/],
      ["http://0x7f.1/h", /loopback/],
      ["http://127.1/h", /loopback/],
      ["http://0177.0.0.1/h", /loopback/],
      ["http://internal.example/h", /private/],
      ["http://meta.example/h", /metadata/],
      ["http://mapped.example/h", /private \(IPv4-mapped\)/],
      ["https://user:pw@internal.example/tok3n?key=abc", /internal\.example: private/],
    ];
    for (const [url, reason] of cases) {
      const r = await t.api("POST", "/api/v1/webhooks", { url, events: ["task.sync"] });
      assert.equal(r.status, 422, url);
      assert.match(r.body.detail, reason, url);
      for (const s of ["pw", "tok3n", "abc"]) assert.ok(!r.body.detail.includes(s), r.body.detail);
    }
    assert.deepEqual((await t.api("GET", "/api/v1/webhooks")).body, []);
    assert.equal(spy.asked.length, 0, "nothing was dialled");
  });

  test("a public name is dialled at its checked address; rebinding to private is refused at connect", async () => {
    const ok = await t.api("POST", "/api/v1/webhooks", {
      url: "http://public.example/hook",
      events: ["task.sync"],
    });
    assert.equal(ok.status, 201);
    const rebind = await t.api("POST", "/api/v1/webhooks", {
      url: "http://rebind.example/hook",
      events: ["task.sync"],
    });
    assert.equal(rebind.status, 201, "checked public at registration");
    const out = (await t.api("POST", "/api/v1/events", { event: "task.sync" })).body;
    const byHook = new Map(out.deliveries.map((d: any) => [d.webhook_id, d]));
    const good: any = byHook.get(ok.body.webhook.id);
    const bad: any = byHook.get(rebind.body.webhook.id);
    assert.equal(good.status, "delivered");
    assert.equal(hook.requests.length, 1);
    assert.equal(hook.requests[0]!.headers.host, "public.example");
    assert.equal(bad.status, "dead");
    assert.match(bad.error, /destination not allowed: private/);
    assert.deepEqual(spy.asked, ["93.184.216.34"], "only the checked public address was asked for");
    assert.deepEqual([...new Set(spy.dialled)], ["127.0.0.1"], "only loopback was ever dialled");
    assert.ok(rebindCalls >= 2);
  });
});
