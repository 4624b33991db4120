/**
 * Slow clients against a real `switchyard serve`: a client that sends its headers and then
 * trickles its body is cut off after the request timeout, an idle keep-alive connection
 * after the keep-alive timeout, and SIGTERM with such a client connected still ends the
 * process within the shutdown grace period (plus its margin), with a clean "stopped" line.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { tempDir } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import {
  killServerProcesses,
  type ServerProcess,
  startServerProcess,
  testServerEnv,
} from "./support/serve-process.ts";

const KEY = "limits-test-key-0123456789";

/** A raw connection to `url` that records everything it receives and when it closes. */
interface RawClient {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once `text` has been received. */
  receivedText(text: string): Promise<void>;
  /** Resolves with everything received once the server closes the connection. */
  closed: Promise<string>;
  /** Stops trickling and destroys the connection (cleanup). */
  destroy(): void;
}

function rawClient(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      let got = "";
      const waiters: Array<() => void> = [];
      socket.on("data", (d) => {
        got += d;
        for (const w of waiters.splice(0)) w();
      });
      socket.on("error", () => {});
      const closed = new Promise<string>((res) => socket.once("close", () => res(got)));
      let trickle: NodeJS.Timeout | undefined;
      socket.once("close", () => clearInterval(trickle));
      resolve({
        socket,
        received: () => got,
        receivedText: async (text) => {
          while (!got.includes(text)) {
            if (socket.destroyed) throw new Error(`connection closed before ${text}: ${got}`);
            await new Promise<void>((r) => waiters.push(r));
          }
        },
        closed,
        destroy: () => {
          clearInterval(trickle);
          socket.destroy();
        },
      });
      // Keep the body trickling (one byte per 200 ms, never reaching 100 bytes in time).
      trickle = setInterval(() => {
        if (!socket.destroyed && socket.writable) socket.write("x");
      }, 200);
      trickle.unref();
    });
    socket.once("error", reject);
  });
}

/**
 * Sends the headers of a 100-byte JSON POST and 12 bytes of its body; with `expect`, asks
 * for `100 Continue`, which the server sends once it has parsed the headers.
 */
function startSlowPost(c: RawClient, expect: boolean): void {
  c.socket.write(
    [
      "POST /api/v1/sessions HTTP/1.1",
      "Host: 127.0.0.1",
      `Authorization: Bearer ${KEY}`,
      "Content-Type: application/json",
      "Content-Length: 100",
      ...(expect ? ["Expect: 100-continue"] : []),
      "",
      '{"client_id"',
    ].join("\r\n"),
  );
}

/** Rejects when `p` has not settled within `ms` (the condition never came). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]);
}

describe("request time limits and a bounded shutdown (real serve process)", () => {
  let llm: FakeLlm;
  const dir = tempDir();
  let base: Record<string, string>;
  before(async () => {
    llm = await startFakeLlm();
    base = {
      ...testServerEnv({
        dataDir: dir.path,
        databaseUrl: `sqlite:${dir.path}/limits.db`,
        llmBaseUrl: llm.baseUrl,
        apiKey: KEY,
      }),
      SWITCHYARD_LOG_LEVEL: "warn",
    };
  });
  after(async () => {
    await killServerProcesses();
    await llm.close();
    dir.remove();
  });

  test("a client trickling its body is cut off with 408 after the request timeout", async () => {
    const s = await startServerProcess({
      ...base,
      SWITCHYARD_REQUEST_TIMEOUT_SECONDS: "1",
      SWITCHYARD_HEADERS_TIMEOUT_SECONDS: "1",
    });
    const c = await rawClient(s.url);
    try {
      startSlowPost(c, false);
      const got = await within(c.closed, 20_000, "the server closing the trickling connection");
      assert.match(got, /^HTTP\/1\.1 408 /);
      assert.match(got, /\{"detail":"[^"]+"\}$/, "the one error shape");
    } finally {
      c.destroy();
      await s.stop();
    }
  });

  test("an idle keep-alive connection is closed after the keep-alive timeout", async () => {
    const s = await startServerProcess({ ...base, SWITCHYARD_KEEP_ALIVE_TIMEOUT_SECONDS: "1" });
    const { hostname, port } = new URL(s.url);
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on("error", () => {});
    try {
      const closed = new Promise<string>((res) => {
        let got = "";
        socket.on("data", (d) => {
          got += d;
        });
        socket.once("close", () => res(got));
      });
      socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n");
      const got = await within(closed, 20_000, "the server closing the idle connection");
      assert.match(got, /^HTTP\/1\.1 200 /);
      assert.match(got, /keep-alive: timeout=1/i);
    } finally {
      socket.destroy();
      await s.stop();
    }
  });

  test("SIGTERM with a trickling client connected: the process exits within the grace period", async () => {
    const s: ServerProcess = await startServerProcess({
      ...base,
      SWITCHYARD_SHUTDOWN_GRACE_SECONDS: "1",
      // The request timeout alone would keep the client for 5 minutes.
      SWITCHYARD_REQUEST_TIMEOUT_SECONDS: "300",
      SWITCHYARD_HEADERS_TIMEOUT_SECONDS: "300",
    });
    const c = await rawClient(s.url);
    try {
      startSlowPost(c, true);
      // The server has parsed the headers: the request is in flight, not an idle connection.
      await within(c.receivedText("100 Continue"), 10_000, "100 Continue");
      // Grace 1 s plus the 5 s margin; beyond 15 s the helper sends SIGKILL.
      const { killed } = await s.stop(15_000);
      assert.equal(killed, false, `SIGTERM did not end the process:\n${s.output()}`);
      assert.equal(await s.exited, 0, s.output());
      assert.match(s.output(), /switchyard: stopped/);
      await within(c.closed, 5_000, "the trickling connection being closed");
    } finally {
      c.destroy();
    }
  });
});
