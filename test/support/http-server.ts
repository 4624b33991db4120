/**
 * The one harness under every fake and capture server of the tests and benchmarks: a
 * node:http server on 127.0.0.1 (a free port unless one is given) whose `close()` ends
 * every open connection at once, hanging requests and pending delayed answers included.
 * Plus what each fake does with a request: read its body, parse it as JSON, answer JSON,
 * and let a test wait until enough requests arrived.
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** A running server on 127.0.0.1. */
export interface LocalServer {
  server: Server;
  port: number;
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:12345`. */
  url: string;
  /** True once `close()` was called. */
  readonly closed: boolean;
  /** Runs `fn` after `ms` unless the server is closed first (then never). */
  later(ms: number, fn: () => void): void;
  /** Stops listening, cancels `later` timers and destroys every connection; idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startLocalServer}. */
export interface LocalServerOptions {
  /** Port to listen on (default 0: a free one). */
  port?: number;
  /** How long an idle keep-alive connection stays open, ms (default Node's 5000). */
  keepAliveTimeoutMs?: number;
}

/**
 * Starts `handler` on 127.0.0.1.
 * @throws the listen error (e.g. EADDRINUSE for a given port)
 */
export async function startLocalServer(
  handler: RequestListener,
  opts: LocalServerOptions = {},
): Promise<LocalServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;
  const server = createServer(handler);
  if (opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = opts.keepAliveTimeoutMs;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    get closed() {
      return closing !== undefined;
    },
    later(ms, fn) {
      if (closing) return;
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

/** The whole body of `req`. @throws the request's stream error (e.g. a reset connection) */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** `text` parsed as JSON, or undefined when it is empty or not JSON. */
export function parseJson(text: string): any {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Answers `status` with `body` as JSON (`content-type: application/json` unless `headers` say otherwise). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/**
 * Waiting for a count (e.g. requests received) to reach a number. Call `notify()` after
 * the count grows.
 */
export class CountWaiter {
  readonly #count: () => number;
  readonly #waiters = new Set<() => void>();

  constructor(count: () => number) {
    this.#count = count;
  }

  /** Settles the waits whose number was reached. */
  notify(): void {
    for (const check of this.#waiters) check();
  }

  /**
   * Resolves once the count is at least `n`; rejects with `timeoutError()` after
   * `timeoutMs`.
   */
  wait(n: number, timeoutMs: number, timeoutError: () => Error): Promise<void> {
    if (this.#count() >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.#count() < n) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(timeoutError());
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}
