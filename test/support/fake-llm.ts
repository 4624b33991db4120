/**
 * A fake OpenAI-compatible chat completions server for tests and benchmarks.
 *
 * Serves `POST /v1/chat/completions` (also `/chat/completions`) and `GET /v1/models`
 * on 127.0.0.1. Replies are scripted with {@link FakeLlm.enqueue} (FIFO), computed by a
 * responder, or default to echoing the last user message (`./fake-llm-script.ts`); they are
 * written in the OpenAI wire format, JSON or server-sent events (`./fake-llm-wire.ts`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type FakeReply, ReplyScript, type Responder } from "./fake-llm-script.ts";
import {
  type FakeLlmRequest,
  IdCounter,
  MODELS,
  parseChatRequest,
  sendCompletion,
  sendError,
  sendStream,
} from "./fake-llm-wire.ts";
import { CountWaiter, readBody, sendJson, startLocalServer } from "./http-server.ts";

export type { FakeReply } from "./fake-llm-script.ts";
export type { FakeLlmRequest } from "./fake-llm-wire.ts";

/** Handle on a running fake LLM server. */
export interface FakeLlm {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:12345/v1`. */
  baseUrl: string;
  /** Every chat request received, in order (empty when started with `record: false`). */
  requests: FakeLlmRequest[];
  /** Appends replies to the FIFO script; one is consumed per chat request. */
  enqueue(...replies: FakeReply[]): void;
  /** Sets the function used when the queue is empty (null restores the echo default). */
  setResponder(fn: Responder | null): void;
  /** Sets the latency applied to replies without their own `latencyMs`. */
  setDefaultLatency(ms: number): void;
  /** Clears the queue, the recorded requests, the request count and the responder. */
  reset(): void;
  /** Resolves once at least `n` chat requests were received since start/reset. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  /**
   * Chat requests whose client closed the connection before the answer was sent (the
   * caller aborted), since start/reset.
   */
  readonly closedByClient: number;
  /** The requests counted in `closedByClient`, in the order they were closed (when recording). */
  closedRequests: FakeLlmRequest[];
  /** Resolves once `closedByClient` reaches `n`; rejects after `timeoutMs` (default 5000). */
  waitForClientClose(n: number, timeoutMs?: number): Promise<void>;
  /** Stops the server, ending hanging and delayed requests. */
  close(): Promise<void>;
}

/** Options for {@link startFakeLlm}. */
export interface FakeLlmOptions {
  /** Default latency in ms for every reply (default 0). */
  latencyMs?: number;
  /** Port to listen on (default 0: a free port). */
  port?: number;
  /** Record requests in `requests` (default true). Set false for benchmarks. */
  record?: boolean;
}

/** Starts a fake OpenAI-compatible chat completions server on 127.0.0.1. */
export async function startFakeLlm(opts: FakeLlmOptions = {}): Promise<FakeLlm> {
  const record = opts.record !== false;
  const script = new ReplyScript(opts.latencyMs ?? 0);
  const ids = new IdCounter();
  const requests: FakeLlmRequest[] = [];
  let received = 0;
  const arrived = new CountWaiter(() => received);
  let closedByClient = 0;
  const closedRequests: FakeLlmRequest[] = [];
  const clientClosed = new CountWaiter(() => closedByClient);

  const local = await startLocalServer(
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          sendJson(res, 500, { error: { message: String(err), type: "fake_llm_error" } });
        } else {
          res.destroy();
        }
      });
    },
    { port: opts.port, keepAliveTimeoutMs: 65_000 },
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
      req.resume();
      sendJson(res, 200, MODELS);
      return;
    }
    if (
      req.method !== "POST" ||
      (path !== "/v1/chat/completions" && path !== "/chat/completions")
    ) {
      req.resume();
      sendJson(res, 404, {
        error: { message: `Not found: ${req.method} ${path}`, type: "not_found" },
      });
      return;
    }

    const raw = (await readBody(req)).toString("utf8");
    const request = parseChatRequest(path, req.headers, raw);
    if (!request) {
      sendJson(res, 400, {
        error: { message: "Invalid JSON body", type: "invalid_request_error" },
      });
      return;
    }
    if (record) requests.push(request);
    received++;
    arrived.notify();
    res.once("close", () => {
      if (res.writableFinished || local.closed) return;
      closedByClient++;
      if (record) closedRequests.push(request);
      clientClosed.notify();
    });

    const reply = await script.next(request);
    if ("hang" in reply) return; // answered never; close() ends the connection
    const latency = script.latencyOf(reply);
    if (latency > 0) await new Promise<void>((resolve) => local.later(latency, resolve));
    if (res.destroyed || local.closed) return;

    if ("status" in reply) {
      sendError(res, reply);
      return;
    }
    const promptTokens = Math.max(1, Math.ceil(raw.length / 4));
    const answer = { res, request, reply, promptTokens, ids };
    if (request.stream) sendStream(answer);
    else sendCompletion(answer);
  }

  return {
    baseUrl: `${local.url}/v1`,
    requests,
    closedRequests,
    enqueue(...replies) {
      script.enqueue(replies);
    },
    setResponder(fn) {
      script.setResponder(fn);
    },
    setDefaultLatency(ms) {
      script.defaultLatencyMs = ms;
    },
    reset() {
      script.reset();
      requests.length = 0;
      received = 0;
      closedByClient = 0;
      closedRequests.length = 0;
    },
    waitForRequests(n, timeoutMs = 5000) {
      return arrived.wait(
        n,
        timeoutMs,
        () =>
          new Error(
            `fake LLM: timed out after ${timeoutMs} ms waiting for ${n} request(s); received ${received}`,
          ),
      );
    },
    get closedByClient() {
      return closedByClient;
    },
    waitForClientClose(n, timeoutMs = 5000) {
      return clientClosed.wait(
        n,
        timeoutMs,
        () =>
          new Error(
            `fake LLM: timed out after ${timeoutMs} ms waiting for ${n} request(s) closed by the client; saw ${closedByClient}`,
          ),
      );
    },
    close: () => local.close(),
  };
}
