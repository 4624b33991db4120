// Outbound HTTP client and SSRF guard. Every connection in this file goes to 127.0.0.1:
// fake "public" hosts come from an injected resolver, and the injected connector spy
// records the checked address and then dials 127.0.0.1 (or nothing at all).
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, describe, test } from "node:test";
import { buildConnector } from "undici";
import type { Connector } from "../src/outbox/connector.ts";
import { parseRetryAfter } from "../src/outbox/http-attempt.ts";
import { OutboundHttpClient } from "../src/outbox/http-client.ts";
import { assertUrlAllowed, type Resolver } from "../src/outbox/ssrf.ts";
import { readBody, startLocalServer } from "./support/http-server.ts";
import { tableResolver } from "./support/resolver.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  at: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void;

const servers: Array<{ close: () => Promise<void> }> = [];
const clients: OutboundHttpClient[] = [];

async function startServer(handler: Handler) {
  const seen: Seen[] = [];
  const local = await startLocalServer(async (req, res) => {
    const body = (await readBody(req)).toString("utf8");
    const index = seen.length;
    seen.push({
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body,
      at: performance.now(),
    });
    handler(req, res, index);
  });
  const handle = { port: local.port, url: local.url, seen, close: () => local.close() };
  servers.push(handle);
  return handle;
}

function reply(
  res: ServerResponse,
  status: number,
  body = "",
  headers: Record<string, string> = {},
) {
  res.writeHead(status, headers);
  res.end(body);
}

function client(opts: Partial<ConstructorParameters<typeof OutboundHttpClient>[0]> = {}) {
  const c = new OutboundHttpClient({ allowPrivate: true, baseRetryDelayMs: 5, ...opts });
  clients.push(c);
  return c;
}

interface Dial {
  hostname: string;
  port: string;
  protocol: string;
  servername?: string;
}

/**
 * Connector spy: records what the guard asked to dial, then connects to 127.0.0.1:localPort
 * (never to the recorded address). With localPort null it dials nothing and fails.
 * `failFirst` makes the first N dials fail with ECONNREFUSED without dialling.
 */
function spyConnector(localPort: number | null, failFirst = 0): Connector & { dials: Dial[] } {
  const dials: Dial[] = [];
  const real = buildConnector({});
  const fn: Connector = (options, callback) => {
    dials.push({
      hostname: options.hostname,
      port: options.port,
      protocol: options.protocol,
      servername: options.servername,
    });
    if (localPort === null || dials.length <= failFirst) {
      const err = Object.assign(new Error("spy: connection refused"), { code: "ECONNREFUSED" });
      queueMicrotask(() => callback(err, null));
      return;
    }
    real(
      {
        ...options,
        hostname: "127.0.0.1",
        host: `127.0.0.1:${localPort}`,
        port: String(localPort),
      },
      callback,
    );
  };
  return Object.assign(fn, { dials });
}

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

describe("OutboundHttpClient: responses and retries", () => {
  test("2xx is ok after one attempt, with JSON body, content-type and user-agent", async () => {
    const srv = await startServer((_q, res) => reply(res, 200, "thanks"));
    const r = await client().postJson(`${srv.url}/hook`, { hello: "world" });
    assert.equal(r.ok, true);
    assert.equal(r.status, 200);
    assert.equal(r.attempts, 1);
    assert.equal(r.responseBody, "thanks");
    assert.ok(r.durationMs >= 0);
    assert.equal(srv.seen.length, 1);
    assert.equal(srv.seen[0]!.method, "POST");
    assert.equal(srv.seen[0]!.url, "/hook");
    assert.deepEqual(JSON.parse(srv.seen[0]!.body), { hello: "world" });
    assert.equal(srv.seen[0]!.headers["content-type"], "application/json");
    assert.equal(srv.seen[0]!.headers["user-agent"], "switchyard");
  });

  test("a string body is sent as is; the response body is cut at 2 KiB", async () => {
    const srv = await startServer((_q, res) => reply(res, 201, "x".repeat(10_000)));
    const r = await client().postJson(srv.url, '{"already":"json"}');
    assert.equal(r.ok, true);
    assert.equal(srv.seen[0]!.body, '{"already":"json"}');
    assert.equal(r.responseBody?.length, 2048);
  });

  test("500 then 200 is ok after 2 attempts; headersForAttempt is recomputed", async () => {
    const srv = await startServer((_q, res, i) => reply(res, i === 0 ? 500 : 200));
    const r = await client().postJson(
      srv.url,
      {},
      { headers: { "x-static": "s" }, headersForAttempt: (n) => ({ "x-attempt": String(n) }) },
    );
    assert.equal(r.ok, true);
    assert.equal(r.attempts, 2);
    assert.deepEqual(
      srv.seen.map((s) => [s.headers["x-static"], s.headers["x-attempt"]]),
      [
        ["s", "0"],
        ["s", "1"],
      ],
    );
  });

  test("503 three times with retries 2 gives up retryable after 3 attempts", async () => {
    const srv = await startServer((_q, res) => reply(res, 503, "busy"));
    const r = await client().postJson(srv.url, {}, { retries: 2 });
    assert.equal(r.ok, false);
    assert.equal(r.retryable, true);
    assert.equal(r.status, 503);
    assert.equal(r.attempts, 3);
    assert.equal(r.error, "HTTP 503");
    assert.equal(srv.seen.length, 3);
  });

  test("inline retries back off exponentially: base × 2^n before each retry (an injected sleep records it)", async () => {
    const srv = await startServer((_q, res) => reply(res, 503, "busy"));
    const waited: number[] = [];
    const r = await client({
      baseRetryDelayMs: 100,
      sleep: async (ms) => void waited.push(ms),
    }).postJson(srv.url, {}, { retries: 3 });
    assert.equal(r.attempts, 4);
    assert.equal(srv.seen.length, 4);
    assert.deepEqual(waited, [100, 200, 400], "100 ms × 2^n, none after the last attempt");
  });

  test("429 with Retry-After: 1 waits a second before the retry (an injected sleep records it)", async () => {
    const srv = await startServer((_q, res, i) =>
      i === 0 ? reply(res, 429, "", { "retry-after": "1" }) : reply(res, 200),
    );
    const waited: number[] = [];
    const r = await client({
      baseRetryDelayMs: 1,
      sleep: async (ms) => void waited.push(ms),
    }).postJson(srv.url, {});
    assert.equal(r.ok, true);
    assert.equal(r.attempts, 2);
    assert.equal(srv.seen.length, 2);
    assert.deepEqual(waited, [1000], "Retry-After (1 s), not the 1 ms step");
  });

  test("Retry-After beyond the clamp is returned for the outbox instead of waited", async () => {
    const srv = await startServer((_q, res) => reply(res, 503, "", { "retry-after": "120" }));
    const r = await client({ maxRetryAfterMs: 1000 }).postJson(srv.url, {}, { retries: 2 });
    assert.equal(r.ok, false);
    assert.equal(r.retryable, true);
    assert.equal(r.attempts, 1);
    assert.equal(r.retryAfterMs, 120_000);
    assert.equal(srv.seen.length, 1);
  });

  test("parseRetryAfter reads delay-seconds and HTTP-dates (RFC 9110)", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("5", now), 5000);
    assert.equal(parseRetryAfter("Wed, 01 Jan 2025 00:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("Tue, 31 Dec 2024 00:00:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  test("302 is a non-retryable failure and the redirect target receives nothing", async () => {
    const target = await startServer((_q, res) => reply(res, 200));
    const srv = await startServer((_q, res) =>
      reply(res, 302, "", { location: `${target.url}/x` }),
    );
    const r = await client().postJson(srv.url, {});
    assert.equal(r.ok, false);
    assert.equal(r.status, 302);
    assert.equal(r.retryable, false);
    assert.equal(r.attempts, 1);
    assert.equal(r.error, "redirect not followed");
    assert.equal(target.seen.length, 0);
  });

  test("404 is not retried; 410 is reported as not retryable", async () => {
    const srv = await startServer((req, res) => reply(res, req.url === "/gone" ? 410 : 404));
    const r = await client().postJson(`${srv.url}/missing`, {});
    assert.equal(r.ok, false);
    assert.equal(r.status, 404);
    assert.equal(r.retryable, false);
    assert.equal(r.attempts, 1);
    const g = await client().postJson(`${srv.url}/gone`, {});
    assert.equal(g.status, 410);
    assert.equal(g.retryable, false);
    assert.equal(g.attempts, 1);
    assert.equal(srv.seen.length, 2);
  });

  test("a timeout is retryable and says so", async () => {
    const srv = await startServer((_q, res) => {
      const t = setTimeout(() => reply(res, 200), 5000);
      res.on("close", () => clearTimeout(t));
    });
    const r = await client().postJson(srv.url, {}, { timeoutMs: 100, retries: 1 });
    assert.equal(r.ok, false);
    assert.equal(r.retryable, true);
    assert.equal(r.status, null);
    assert.equal(r.attempts, 2);
    assert.match(r.error ?? "", /timeout/);
  });

  test("a network error is retryable and never throws", async () => {
    const srv = await startServer((_q, res) => reply(res, 200));
    const url = srv.url;
    await srv.close();
    const r = await client().postJson(`${url}/hook`, {}, { retries: 1 });
    assert.equal(r.ok, false);
    assert.equal(r.retryable, true);
    assert.equal(r.attempts, 2);
    assert.match(r.error ?? "", /^network error: ECONNREFUSED/);
  });

  test("a caller abort stops the attempt and all retries", async () => {
    const srv = await startServer((_q, res) => {
      const t = setTimeout(() => reply(res, 200), 5000);
      res.on("close", () => clearTimeout(t));
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await client().postJson(srv.url, {}, { signal: ac.signal, retries: 5 });
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 1);
    assert.equal(r.error, "aborted by caller");
    assert.equal(srv.seen.length, 1);

    const busy = await startServer((_q, res) => reply(res, 503));
    const ac2 = new AbortController();
    const pending = client({ baseRetryDelayMs: 10_000 }).postJson(
      busy.url,
      {},
      { signal: ac2.signal },
    );
    setTimeout(() => ac2.abort(), 100);
    const r2 = await pending;
    assert.equal(r2.attempts, 1);
    assert.equal(r2.error, "aborted by caller");
    assert.equal(busy.seen.length, 1);

    const r3 = await client().postJson(busy.url, {}, { signal: AbortSignal.abort() });
    assert.equal(r3.attempts, 0);
    assert.equal(busy.seen.length, 1);
  });

  test("URL userinfo becomes Basic auth and never appears in results", async () => {
    const srv = await startServer((_q, res) => reply(res, 200));
    const r = await client().postJson(`http://alice:s3cret@127.0.0.1:${srv.port}/h?token=abc`, {});
    assert.equal(r.ok, true);
    assert.equal(srv.seen[0]!.headers.authorization, `Basic ${btoa("alice:s3cret")}`);
    assert.equal(srv.seen[0]!.url, "/h?token=abc");
  });

  test("non-http schemes are refused without a request", async () => {
    const r = await client().postJson("ftp://127.0.0.1/file", {});
    assert.equal(r.ok, false);
    assert.equal(r.retryable, false);
    assert.equal(r.attempts, 0);
    assert.equal(r.error, "destination not allowed: scheme");
  });
});

describe("SSRF: connect-time guard", () => {
  test("DNS rebinding: checked public at registration, private at connect → nothing dialled", async () => {
    let calls = 0;
    const rebinding: Resolver = async () => [
      { address: calls++ === 0 ? "93.184.216.34" : "10.0.0.5", family: 4 },
    ];
    await assertUrlAllowed("http://rebind.example/hook", {
      allowPrivate: false,
      resolver: rebinding,
    });
    const spy = spyConnector(null);
    const c = client({ allowPrivate: false, resolver: rebinding, connector: spy });
    const r = await c.postJson("http://rebind.example/hook", {});
    assert.equal(r.ok, false);
    assert.equal(r.retryable, false);
    assert.equal(r.status, null);
    assert.equal(r.error, "destination not allowed: private");
    assert.equal(spy.dials.length, 0);
    assert.equal(calls, 2);
  });

  test("an allowed host is dialled at the checked address, not re-resolved", async () => {
    const srv = await startServer((_q, res) => reply(res, 200, "captured"));
    const resolver = tableResolver({ "public.example": ["93.184.216.34"] });
    const spy = spyConnector(srv.port);
    const c = client({ allowPrivate: false, resolver, connector: spy });
    const r = await c.postJson("http://public.example:8080/hook?x=1", { a: 1 });
    assert.equal(r.ok, true, r.error);
    assert.equal(r.responseBody, "captured");
    assert.equal(spy.dials.length, 1);
    const { servername, ...dial } = spy.dials[0]!;
    assert.deepEqual(dial, { hostname: "93.184.216.34", port: "8080", protocol: "http:" });
    assert.ok(!servername, "no TLS servername for plain http");
    assert.equal(srv.seen[0]!.headers.host, "public.example:8080");
    assert.equal(srv.seen[0]!.url, "/hook?x=1");
  });

  test("HTTPS keeps the host name as TLS servername while dialling the IPv6 address", async () => {
    const resolver = tableResolver({ "v6.example": ["2606:4700::1111"] });
    const spy = spyConnector(null);
    const c = client({ allowPrivate: false, resolver, connector: spy });
    const r = await c.postJson("https://v6.example/hook", {}, { retries: 0 });
    assert.equal(r.ok, false);
    assert.equal(r.retryable, true);
    assert.deepEqual(spy.dials, [
      { hostname: "2606:4700::1111", port: "", protocol: "https:", servername: "v6.example" },
    ]);
  });

  test("the next checked address is tried when one refuses the connection", async () => {
    const srv = await startServer((_q, res) => reply(res, 204));
    const resolver = tableResolver({ "two.example": ["2606:4700::1111", "93.184.216.34"] });
    const spy = spyConnector(srv.port, 1);
    const c = client({ allowPrivate: false, resolver, connector: spy });
    const r = await c.postJson("http://two.example/", {}, { retries: 0 });
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(
      spy.dials.map((d) => d.hostname),
      ["2606:4700::1111", "93.184.216.34"],
    );
  });

  test("a host with any forbidden address is refused; DNS failure is retryable", async () => {
    const resolver = tableResolver({ "mixed.example": ["93.184.216.34", "169.254.169.254"] });
    const spy = spyConnector(null);
    const c = client({ allowPrivate: false, resolver, connector: spy });
    const r = await c.postJson("http://mixed.example/", {});
    assert.equal(r.error, "destination not allowed: metadata");
    assert.equal(r.attempts, 1);
    const d = await c.postJson("http://unknown.example/", {}, { retries: 0 });
    assert.equal(d.retryable, true);
    assert.match(d.error ?? "", /ENOTFOUND/);
    assert.equal(spy.dials.length, 0);
  });

  test("IP literals are checked: refused when private URLs are not allowed", async () => {
    const srv = await startServer((_q, res) => reply(res, 200));
    const spy = spyConnector(srv.port);
    const c = client({ allowPrivate: false, resolver: tableResolver({}), connector: spy });
    for (const host of [
      `127.0.0.1:${srv.port}`,
      `[::ffff:127.0.0.1]:${srv.port}`,
      `[::1]:${srv.port}`,
    ]) {
      const r = await c.postJson(`http://${host}/hook`, {});
      assert.equal(r.ok, false, host);
      assert.equal(r.retryable, false, host);
      assert.match(r.error ?? "", /^destination not allowed: loopback/, host);
    }
    assert.equal(spy.dials.length, 0);
    assert.equal(srv.seen.length, 0);

    const open = client({ allowPrivate: true, connector: spyConnector(srv.port) });
    const ok = await open.postJson(`http://127.0.0.1:${srv.port}/hook`, {});
    assert.equal(ok.ok, true);
    assert.equal(srv.seen.length, 1);
  });

  test("refusals and network errors never contain userinfo or query", async () => {
    const resolver = tableResolver({ "internal.example": ["10.1.2.3"] });
    const c = client({ allowPrivate: false, resolver, connector: spyConnector(null) });
    const refused = await c.postJson("http://carol:pa55word@internal.example/p?sig=zzzz9", {});
    const srv = await startServer((_q, res) => reply(res, 200));
    const url = `http://carol:pa55word@127.0.0.1:${srv.port}/p?sig=zzzz9`;
    await srv.close();
    const failed = await client().postJson(url, {}, { retries: 0 });
    for (const r of [refused, failed]) {
      assert.equal(r.ok, false);
      for (const secret of ["carol", "pa55word", "zzzz9"]) {
        assert.ok(!JSON.stringify(r).includes(secret), `result leaks ${secret}: ${r.error}`);
      }
    }
  });
});
