/**
 * The outbound HTTP client's edges that test/http-client.test.ts leaves open (written for
 * mutation testing, `npm run mutate -- http-client`): the retry boundary statuses, the
 * option checks, Retry-After at the clamp, an outbox attempt's deadline, header and body
 * shapes of the result, and the streaming `download` used for adapters' inbound files.
 * Every request goes to a server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, describe, test } from "node:test";
import { attemptDeadline } from "../src/outbox/attempt-deadline.ts";
import { parseRetryAfter } from "../src/outbox/http-attempt.ts";
import { OutboundHttpClient } from "../src/outbox/http-client.ts";
import type { Resolver } from "../src/outbox/ssrf.ts";
import { readBody, startLocalServer } from "./support/http-server.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void;

const closers: Array<() => Promise<void>> = [];

async function server(handler: Handler) {
  const seen: Array<{ url: string; headers: IncomingMessage["headers"]; body: string }> = [];
  const local = await startLocalServer(async (req, res) => {
    const body = (await readBody(req)).toString("utf8");
    const index = seen.length;
    seen.push({ url: req.url ?? "", headers: req.headers, body });
    handler(req, res, index);
  });
  closers.push(() => local.close());
  return { url: local.url, port: local.port, seen, close: () => local.close() };
}

function client(opts: Partial<ConstructorParameters<typeof OutboundHttpClient>[0]> = {}) {
  const c = new OutboundHttpClient({ allowPrivate: true, baseRetryDelayMs: 1, ...opts });
  closers.push(() => c.close());
  return c;
}

/** A sleep that records the waits instead of waiting. */
function recorder() {
  const waited: number[] = [];
  return { waited, sleep: async (ms: number) => void waited.push(ms) };
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString("utf8");
}

after(async () => {
  await Promise.all(closers.map((c) => c()));
});

describe("OutboundHttpClient: statuses at the edges", () => {
  const cases: Array<[number, { ok: boolean; retried: boolean; error?: string }]> = [
    [204, { ok: true, retried: false }],
    [299, { ok: true, retried: false }],
    [300, { ok: false, retried: false, error: "redirect not followed" }],
    [399, { ok: false, retried: false, error: "redirect not followed" }],
    [400, { ok: false, retried: false, error: "HTTP 400" }],
    [407, { ok: false, retried: false, error: "HTTP 407" }],
    [408, { ok: false, retried: true, error: "HTTP 408" }],
    [409, { ok: false, retried: false, error: "HTTP 409" }],
    [410, { ok: false, retried: false, error: "HTTP 410 Gone" }],
    [429, { ok: false, retried: true, error: "HTTP 429" }],
    [499, { ok: false, retried: false, error: "HTTP 499" }],
    [500, { ok: false, retried: true, error: "HTTP 500" }],
  ];
  for (const [status, want] of cases) {
    test(`${status}: ${want.ok ? "ok" : want.error}, ${want.retried ? "retried" : "not retried"}`, async () => {
      const srv = await server((_q, res) => {
        res.writeHead(status);
        res.end("x");
      });
      const r = await client().postJson(srv.url, {}, { retries: 1 });
      assert.equal(r.ok, want.ok);
      assert.equal(r.status, status);
      assert.equal(r.retryable, want.retried);
      assert.equal(r.attempts, want.retried ? 2 : 1);
      assert.equal(srv.seen.length, want.retried ? 2 : 1);
      assert.equal(r.error, want.error);
    });
  }
});

describe("OutboundHttpClient: options and retries", () => {
  test("negative or non-finite option values are refused with their name", () => {
    for (const [name, v] of [
      ["defaultTimeoutMs", -1],
      ["baseRetryDelayMs", Number.NaN],
      ["maxRetryAfterMs", Number.POSITIVE_INFINITY],
    ] as const) {
      assert.throws(
        () => new OutboundHttpClient({ allowPrivate: true, [name]: v }),
        (err: unknown) =>
          err instanceof TypeError && err.message === `${name} must be a number ≥ 0`,
      );
    }
    // Zero is allowed.
    new OutboundHttpClient({
      allowPrivate: true,
      defaultTimeoutMs: 0,
      baseRetryDelayMs: 0,
      maxRetryAfterMs: 0,
    });
  });

  test("the defaults: 15 s per attempt, 100 ms first retry wait, user-agent switchyard", async () => {
    const srv = await server((_q, res, i) => {
      res.writeHead(i < 2 ? 503 : 200);
      res.end();
    });
    const { waited, sleep } = recorder();
    const r = await new OutboundHttpClient({ allowPrivate: true, sleep }).postJson(srv.url, {});
    assert.equal(r.attempts, 3, "two retries by default");
    assert.deepEqual(waited, [100, 200]);
    assert.equal(srv.seen[0]!.headers["user-agent"], "switchyard");
  });

  test("durationMs is the time the request took, retries included", async () => {
    const srv = await server((_q, res) => {
      setTimeout(() => res.end(), 200);
    });
    const started = performance.now();
    const r = await client().postJson(srv.url, {});
    const took = performance.now() - started;
    assert.equal(r.ok, true);
    assert.ok(r.durationMs >= 190, `durationMs ${r.durationMs} covers the 200 ms answer`);
    assert.ok(r.durationMs <= took + 1, `durationMs ${r.durationMs} ≤ the ${took} ms measured`);
  });

  test("a given user agent is sent", async () => {
    const srv = await server((_q, res) => res.end());
    await client({ userAgent: "probe/1" }).postJson(srv.url, {});
    assert.equal(srv.seen[0]!.headers["user-agent"], "probe/1");
  });

  test("retries are a whole number ≥ 0: -1 means one try, 1.9 means one retry", async () => {
    const srv = await server((_q, res) => {
      res.writeHead(503);
      res.end();
    });
    assert.equal((await client().postJson(srv.url, {}, { retries: -1 })).attempts, 1);
    assert.equal((await client().postJson(srv.url, {}, { retries: 1.9 })).attempts, 2);
  });

  test("a Retry-After exactly at the clamp is waited inline; the wait is the larger of the two", async () => {
    const srv = await server((_q, res, i) => {
      res.writeHead(i === 0 ? 429 : 200, i === 0 ? { "retry-after": "2" } : {});
      res.end();
    });
    const { waited, sleep } = recorder();
    const r = await client({ maxRetryAfterMs: 2000, baseRetryDelayMs: 50, sleep }).postJson(
      srv.url,
      {},
    );
    assert.equal(r.ok, true);
    assert.equal(r.attempts, 2);
    assert.deepEqual(waited, [2000]);

    // A Retry-After shorter than the back-off step waits the step.
    const srv2 = await server((_q, res, i) => {
      res.writeHead(i === 0 ? 503 : 200, i === 0 ? { "retry-after": "0" } : {});
      res.end();
    });
    const two = recorder();
    await client({ baseRetryDelayMs: 70, sleep: two.sleep }).postJson(srv2.url, {});
    assert.deepEqual(two.waited, [70]);
  });

  test("the failure keeps the answer's Retry-After, body and headers; a 2xx keeps its Retry-After too", async () => {
    const srv = await server((_q, res) => {
      res.writeHead(503, { "retry-after": "7", "x-why": "maintenance" });
      res.end("down for maintenance");
    });
    const r = await client({ maxRetryAfterMs: 1000 }).postJson(srv.url, {});
    assert.equal(r.retryAfterMs, 7000);
    assert.equal(r.responseBody, "down for maintenance");
    assert.equal(r.responseHeaders?.["x-why"], "maintenance");
    assert.equal(r.responseTruncated, undefined);

    const ok = await server((_q, res) => {
      res.writeHead(200, { "retry-after": "3" });
      res.end();
    });
    const r2 = await client().postJson(ok.url, {});
    assert.equal(r2.ok, true);
    assert.equal(r2.retryAfterMs, 3000);
  });

  test("a timeout says how long it waited and is not reported with the previous status", async () => {
    const srv = await server((_q, res, i) => {
      if (i === 0) {
        res.writeHead(503);
        res.end();
      }
      // later requests hang until the client gives up
    });
    const r = await client().postJson(srv.url, {}, { timeoutMs: 150, retries: 1 });
    assert.equal(r.ok, false);
    assert.equal(r.status, null);
    assert.equal(r.retryable, true);
    assert.equal(r.error, "timeout after 150 ms");
    assert.equal(r.responseBody, undefined);
  });

  test("a network error after a 503 is reported without the 503", async () => {
    let srvClose: (() => Promise<void>) | undefined;
    const srv = await server((_q, res) => {
      res.writeHead(503);
      res.end();
      void srvClose?.();
    });
    srvClose = srv.close;
    const r = await client({ sleep: async () => {} }).postJson(srv.url, {}, { retries: 1 });
    assert.equal(r.attempts, 2);
    assert.equal(r.status, null);
    assert.match(r.error ?? "", /^network error: ECONNREFUSED/);
  });

  test("a caller abort during the wait after a 503 reports that 503", async () => {
    const srv = await server((_q, res) => {
      res.writeHead(503);
      res.end();
    });
    const ac = new AbortController();
    const r = await client({
      sleep: async () => {
        ac.abort();
        throw new Error("aborted");
      },
    }).postJson(srv.url, {}, { signal: ac.signal });
    assert.equal(r.error, "aborted by caller");
    assert.equal(r.retryable, true);
    assert.equal(r.ok, false);
    assert.equal(r.status, 503);
    assert.equal(r.attempts, 1);
  });

  test("the default wait is a real timer that the caller's signal cuts short", async () => {
    const srv = await server((_q, res) => {
      res.writeHead(503);
      res.end();
    });
    const c = new OutboundHttpClient({ allowPrivate: true, baseRetryDelayMs: 30 });
    closers.push(() => c.close());
    const started = performance.now();
    const r = await c.postJson(srv.url, {}, { retries: 1 });
    assert.equal(r.attempts, 2);
    assert.ok(performance.now() - started >= 25, "waited about 30 ms between tries");

    const ac = new AbortController();
    const slow = new OutboundHttpClient({ allowPrivate: true, baseRetryDelayMs: 60_000 });
    closers.push(() => slow.close());
    setTimeout(() => ac.abort(), 50);
    const r2 = await slow.postJson(srv.url, {}, { signal: ac.signal });
    assert.equal(r2.error, "aborted by caller");
    assert.equal(r2.attempts, 1);
  });

  test("an Authorization header given by the caller wins over URL userinfo; userinfo is percent-decoded", async () => {
    const srv = await server((_q, res) => res.end());
    await client().postJson(
      `http://u:p@127.0.0.1:${srv.port}/`,
      {},
      {
        headers: { authorization: "Bearer given" },
      },
    );
    assert.equal(srv.seen[0]!.headers.authorization, "Bearer given");
    await client().postJson(`http://al%40ice:p%3As@127.0.0.1:${srv.port}/`, {});
    assert.equal(srv.seen[1]!.headers.authorization, `Basic ${btoa("al@ice:p:s")}`);
    await client().postJson(`http://:onlypass@127.0.0.1:${srv.port}/`, {});
    assert.equal(srv.seen[2]!.headers.authorization, `Basic ${btoa(":onlypass")}`);
    await client().postJson(`http://127.0.0.1:${srv.port}/`, {});
    assert.equal(srv.seen[3]!.headers.authorization, undefined);
  });

  test("a header value undici refuses is a non-retryable invalid request naming only the origin", async () => {
    const srv = await server((_q, res) => res.end());
    const r = await client().postJson(
      `${srv.url}/p?token=zzzz`,
      {},
      {
        headers: { "x-bad": "a\r\nb" },
      },
    );
    assert.equal(r.ok, false);
    assert.equal(r.retryable, false);
    assert.equal(r.attempts, 1);
    assert.equal(r.status, null);
    assert.equal(r.error, `invalid request to ${srv.url}`);
    assert.equal(srv.seen.length, 0);
  });

  test("an invalid URL is refused without a request", async () => {
    const r = await client().postJson("not a url", {});
    assert.deepEqual(
      { ok: r.ok, status: r.status, attempts: r.attempts, retryable: r.retryable, error: r.error },
      {
        ok: false,
        status: null,
        attempts: 0,
        retryable: false,
        error: "destination not allowed: invalid URL",
      },
    );
  });
});

describe("OutboundHttpClient: the answer's body and headers", () => {
  test("maxResponseBytes bounds the body kept; a body of exactly the limit is not truncated", async () => {
    const srv = await server((req, res) => {
      res.writeHead(200);
      res.end(req.url === "/exact" ? "abcd" : "abcdefgh");
    });
    const cut = await client().postJson(`${srv.url}/long`, {}, { maxResponseBytes: 4 });
    assert.equal(cut.responseBody, "abcd");
    assert.equal(cut.responseTruncated, true);
    const exact = await client().postJson(`${srv.url}/exact`, {}, { maxResponseBytes: 4 });
    assert.equal(exact.responseBody, "abcd");
    assert.equal(exact.responseTruncated, undefined);
  });

  test("a body sent in many chunks is kept up to the limit across chunks", async () => {
    const srv = await server((_q, res) => {
      res.writeHead(200);
      let i = 0;
      const next = () => {
        if (i === 5) return res.end();
        res.write(`${i++}`.repeat(3));
        setTimeout(next, 2);
      };
      next();
    });
    const r = await client().postJson(srv.url, {}, { maxResponseBytes: 7 });
    assert.equal(r.responseBody, "0001112");
    assert.equal(r.responseTruncated, true);
    const all = await client().postJson(srv.url, {});
    assert.equal(all.responseBody, "000111222333444");
  });

  test("a huge answer is cut without reading it all, and the next request still works", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const srv = await server((req, res) => {
      res.writeHead(200);
      if (req.url === "/big") res.end(big);
      else res.end("small");
    });
    const c = client();
    const r = await c.postJson(`${srv.url}/big`, {});
    assert.equal(r.ok, true);
    assert.equal(r.responseBody?.length, 2048);
    assert.equal(r.responseTruncated, true);
    const again = await c.postJson(`${srv.url}/small`, {});
    assert.equal(again.responseBody, "small");
  });

  test("response header names are lower case and repeated headers are joined", async () => {
    const srv = await server((_q, res) => {
      res.setHeader("X-Trace", "t1");
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.writeHead(200);
      res.end();
    });
    const r = await client().postJson(srv.url, {});
    assert.equal(r.responseHeaders?.["x-trace"], "t1");
    assert.equal(r.responseHeaders?.["set-cookie"], "a=1, b=2");
  });

  test("parseRetryAfter: the first of repeated values, trimmed; junk and empty are undefined", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    assert.equal(parseRetryAfter(["3", "9"], now), 3000);
    assert.equal(parseRetryAfter("  4 ", now), 4000);
    assert.equal(parseRetryAfter("", now), undefined);
    assert.equal(parseRetryAfter("   ", now), undefined);
    assert.equal(parseRetryAfter("x5", now), undefined);
    assert.equal(parseRetryAfter("5x", now), undefined);
    assert.equal(parseRetryAfter("0", now), 0);
  });
});

describe("OutboundHttpClient under an outbox attempt's deadline", () => {
  test("a receiver that times out gets no second try within the attempt", async () => {
    const srv = await server(() => {
      /* never answers */
    });
    const d = attemptDeadline(10_000);
    try {
      const r = await client().postJson(
        srv.url,
        {},
        {
          signal: d.signal,
          timeoutMs: 100,
          retries: 3,
        },
      );
      assert.equal(r.attempts, 1);
      assert.equal(r.error, "timeout after 100 ms");
      assert.equal(srv.seen.length, 1);
    } finally {
      d.dispose();
    }
  });

  test("a retry whose wait ends past the deadline is left to the schedule; one that fits is made", async () => {
    const srv = await server((_q, res, i) => {
      res.writeHead(i === 0 ? 503 : 200);
      res.end();
    });
    const late = recorder();
    const d = attemptDeadline(1000);
    try {
      const r = await client({ baseRetryDelayMs: 5000, sleep: late.sleep }).postJson(
        srv.url,
        {},
        { signal: d.signal },
      );
      assert.equal(r.attempts, 1);
      assert.equal(r.status, 503);
      assert.deepEqual(late.waited, []);
    } finally {
      d.dispose();
    }

    const srv2 = await server((_q, res, i) => {
      res.writeHead(i === 0 ? 503 : 200);
      res.end();
    });
    const fits = recorder();
    const d2 = attemptDeadline(10_000);
    try {
      const r = await client({ baseRetryDelayMs: 10, sleep: fits.sleep }).postJson(
        srv2.url,
        {},
        { signal: d2.signal },
      );
      assert.equal(r.ok, true);
      assert.equal(r.attempts, 2);
      assert.deepEqual(fits.waited, [10]);
    } finally {
      d2.dispose();
    }
  });

  test("without a deadline a timeout is retried inline", async () => {
    const srv = await server(() => {});
    const r = await client().postJson(srv.url, {}, { timeoutMs: 80, retries: 1 });
    assert.equal(r.attempts, 2);
    assert.equal(srv.seen.length, 2);
  });
});

describe("OutboundHttpClient.download", () => {
  test("streams the body with lower-case headers and sends the user agent and given headers", async () => {
    const srv = await server((_q, res) => {
      res.setHeader("Content-Type", "text/plain");
      res.setHeader("X-Part", ["a", "b"]);
      res.writeHead(200);
      res.end("file contents");
    });
    const got = await client({ userAgent: "dl/1" }).download(`${srv.url}/f?x=1`, {
      headers: { authorization: "Bearer t" },
    });
    assert.equal(got.status, 200);
    assert.equal(got.headers["content-type"], "text/plain");
    assert.equal(got.headers["x-part"], "a, b");
    assert.equal(await text(got.body), "file contents");
    assert.equal(srv.seen[0]!.url, "/f?x=1");
    assert.equal(srv.seen[0]!.headers.authorization, "Bearer t");
    assert.equal(srv.seen[0]!.headers["user-agent"], "dl/1");
  });

  test("a 2xx other than 200 is a download; 199-like and 3xx/4xx are errors naming only the origin", async () => {
    const srv = await server((req, res) => {
      const status = Number(req.url?.slice(1).split("?")[0]);
      res.writeHead(status, status === 302 ? { location: "/elsewhere" } : {});
      res.end("body");
    });
    const c = client();
    const ok = await c.download(`${srv.url}/299`);
    assert.equal(ok.status, 299);
    assert.equal(await text(ok.body), "body");
    for (const [status, says] of [
      [302, "redirect not followed"],
      [300, "redirect not followed"],
      [404, "HTTP 404"],
      [410, "HTTP 410 Gone"],
      [500, "HTTP 500"],
    ] as const) {
      await assert.rejects(c.download(`${srv.url}/${status}?token=zzzz`), {
        message: `download from ${srv.url}: ${says}`,
      });
    }
  });

  test("an invalid, non-http or private URL is refused before anything is dialled", async () => {
    const c = client({ allowPrivate: false });
    await assert.rejects(c.download("not a url"), {
      message: "destination not allowed: invalid URL",
    });
    await assert.rejects(c.download("file:///etc/passwd"), {
      message: "destination not allowed: scheme",
    });
    const srv = await server((_q, res) => res.end());
    await assert.rejects(c.download(`${srv.url}/x`), {
      message: "destination not allowed: loopback",
    });
    assert.equal(srv.seen.length, 0);
  });

  test("a download slower than its timeout fails as a timeout; a network error names its code", async () => {
    const hang = await server(() => {});
    const c = client();
    await assert.rejects(c.download(`${hang.url}/slow`, { timeoutMs: 100 }), {
      message: `download from ${hang.url}: timeout`,
    });
    const gone = await server((_q, res) => res.end());
    const url = gone.url;
    await gone.close();
    await assert.rejects(c.download(`${url}/x`), {
      message: `download from ${url} failed: ECONNREFUSED`,
    });
  });

  test("the client's default timeout applies to downloads; the caller's signal stops one", async () => {
    const hang = await server(() => {});
    const c = client({ defaultTimeoutMs: 100 });
    await assert.rejects(c.download(hang.url), { message: `download from ${hang.url}: timeout` });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const started = performance.now();
    await assert.rejects(client().download(hang.url, { signal: ac.signal }), (err: Error) =>
      err.message.startsWith(`download from ${hang.url} failed`),
    );
    assert.ok(performance.now() - started < 5000, "stopped by the signal, not a timeout");
  });
});

describe("OutboundHttpClient: aborts, draining, closing, error messages", () => {
  test("a caller abort during the only try is reported as an abort, not a network error", async () => {
    const srv = await server(() => {});
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await client().postJson(srv.url, {}, { signal: ac.signal, retries: 0 });
    assert.equal(r.error, "aborted by caller");
    assert.equal(r.retryable, true);
    assert.equal(r.attempts, 1);
  });

  test("an answer that never ends is cut: the result comes back at once, truncated", async () => {
    const srv = await server((_q, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 0x62);
      const timer = setInterval(() => res.write(chunk), 1);
      res.on("close", () => clearInterval(timer));
    });
    const r = await client().postJson(srv.url, {}, { timeoutMs: 5000, retries: 0 });
    assert.equal(r.ok, true, r.error);
    assert.equal(r.responseBody, "b".repeat(2048));
    assert.equal(r.responseTruncated, true);
  });

  test("close() ends the pooled connections", async () => {
    let socketClosed: Promise<void> | undefined;
    const srv = await server((req, res) => {
      socketClosed = new Promise((resolve) => req.socket.once("close", () => resolve()));
      res.end("ok");
    });
    const c = new OutboundHttpClient({ allowPrivate: true });
    assert.equal((await c.postJson(srv.url, {})).ok, true);
    await c.close();
    const closed = await Promise.race([
      socketClosed!.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
    ]);
    assert.equal(closed, true, "the keep-alive connection was closed by close()");
    // A client that sent nothing closes too.
    await new OutboundHttpClient({ allowPrivate: true }).close();
  });

  /** A client whose resolver fails with `err` (a lookup that fails names what it looked up). */
  const failing = (err: Error) => {
    const resolver: Resolver = async () => {
      throw err;
    };
    return client({ allowPrivate: false, resolver });
  };

  test("a network error's message has the URL, its query and userinfo (4 characters or more) scrubbed", async () => {
    const url = "http://carol:abcd@lookup.example/p?sig=zzzz9";
    const secretHref = new URL(url).href;
    const r = await failing(
      Object.assign(
        new Error(`cannot reach ${secretHref}; query ?sig=zzzz9; user carol; pass abcd; pw ab`),
        { code: "EAI_AGAIN" },
      ),
    ).postJson(url, {}, { retries: 0 });
    assert.equal(
      r.error,
      "network error: EAI_AGAIN: cannot reach [redacted]; query [redacted]; user [redacted]; pass [redacted]; pw ab",
    );
    assert.equal(r.retryable, true);
  });

  test("a network error without a code is named by its error name; an empty or code-only message adds nothing", async () => {
    const plain = await failing(new TypeError("boom")).postJson(
      "http://x.example/",
      {},
      {
        retries: 0,
      },
    );
    assert.equal(plain.error, "network error: TypeError: boom");
    const quiet = await failing(Object.assign(new Error(""), { code: "EQUIET" })).postJson(
      "http://x.example/",
      {},
      { retries: 0 },
    );
    assert.equal(quiet.error, "network error: EQUIET");
    const same = await failing(Object.assign(new Error("ESAME"), { code: "ESAME" })).postJson(
      "http://x.example/",
      {},
      { retries: 0 },
    );
    assert.equal(same.error, "network error: ESAME");
  });
});
