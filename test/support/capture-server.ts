/**
 * A capture server for outbound HTTP requests (webhooks, callbacks) made by the code under test.
 * Records every request and answers 200 `{"ok":true}` unless a responder says otherwise.
 */
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** One request received by the capture server. */
export interface CapturedRequest {
  method: string;
  /** The request target, including any query string. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body as UTF-8 text. */
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
  /** `Date.now()` when the body was fully received. */
  receivedAt: number;
}

/** What the capture server answers; every field is optional. */
export interface CaptureResponse {
  /** HTTP status (default 200). */
  status?: number;
  /** Body: strings are sent as-is, anything else as JSON (default `{"ok":true}`). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Delay before answering, in ms. */
  delayMs?: number;
}

/** Handle on a running capture server. */
export interface CaptureServer {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:12345`. */
  url: string;
  /** Every request received, in order. */
  requests: CapturedRequest[];
  /** Decides the answer per request (`index` is its 0-based position); undefined means default. */
  setResponder(fn: (req: CapturedRequest, index: number) => CaptureResponse | undefined): void;
  /** Resolves with all requests so far once at least `n` arrived; rejects after `timeoutMs` (default 5000). */
  waitFor(n: number, timeoutMs?: number): Promise<CapturedRequest[]>;
  /** Stops the server and drops any open connection. */
  close(): Promise<void>;
}

/** Starts a capture server on 127.0.0.1 with a free port. */
export async function startCaptureServer(): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  let responder: ((req: CapturedRequest, index: number) => CaptureResponse | undefined) | null =
    null;
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let closed = false;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: any;
      if (body.length > 0) {
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
      }
      const captured: CapturedRequest = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: req.headers,
        body,
        json,
        receivedAt: Date.now(),
      };
      const index = requests.length;
      requests.push(captured);
      for (const w of waiters) w();

      let answer: CaptureResponse | undefined;
      try {
        answer = responder?.(captured, index);
      } catch (err) {
        answer = { status: 500, body: { error: String(err) } };
      }
      const status = answer?.status ?? 200;
      const payload =
        answer?.body === undefined
          ? '{"ok":true}'
          : typeof answer.body === "string"
            ? answer.body
            : JSON.stringify(answer.body);
      const headers: Record<string, string> = {
        "content-type":
          typeof answer?.body === "string" ? "text/plain; charset=utf-8" : "application/json",
        ...answer?.headers,
      };
      const send = () => {
        if (res.destroyed || closed) return;
        res.writeHead(status, headers);
        res.end(payload);
      };
      const delay = answer?.delayMs ?? 0;
      if (delay > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, delay);
        timers.add(t);
      } else {
        send();
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setResponder(fn) {
      responder = fn;
    },
    waitFor(n, timeoutMs = 5000) {
      if (requests.length >= n) return Promise.resolve(requests.slice());
      return new Promise<CapturedRequest[]>((resolve, reject) => {
        const check = () => {
          if (requests.length >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(requests.slice());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `capture server: timed out after ${timeoutMs} ms waiting for ${n} request(s); ` +
                `${requests.length} arrived`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}
