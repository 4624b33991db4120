/**
 * A capture server for outbound HTTP requests (webhooks, callbacks) made by the code under test.
 * Records every request and answers 200 `{"ok":true}` unless a responder says otherwise.
 */
import { CountWaiter, parseJson, readBody, startLocalServer } from "./http-server.ts";

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
  const arrived = new CountWaiter(() => requests.length);

  const local = await startLocalServer(async (req, res) => {
    let body: string;
    try {
      body = (await readBody(req)).toString("utf8");
    } catch {
      return;
    }
    const captured: CapturedRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: req.headers,
      body,
      json: parseJson(body),
      receivedAt: Date.now(),
    };
    const index = requests.length;
    requests.push(captured);
    arrived.notify();

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
      if (res.destroyed || local.closed) return;
      res.writeHead(status, headers);
      res.end(payload);
    };
    const delay = answer?.delayMs ?? 0;
    if (delay > 0) local.later(delay, send);
    else send();
  });

  return {
    url: local.url,
    requests,
    setResponder(fn) {
      responder = fn;
    },
    async waitFor(n, timeoutMs = 5000) {
      await arrived.wait(
        n,
        timeoutMs,
        () =>
          new Error(
            `capture server: timed out after ${timeoutMs} ms waiting for ${n} request(s); ` +
              `${requests.length} arrived`,
          ),
      );
      return requests.slice();
    },
    close: () => local.close(),
  };
}
