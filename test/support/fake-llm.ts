/**
 * A fake OpenAI-compatible chat completions server for tests and benchmarks.
 *
 * Serves `POST /v1/chat/completions` (also `/chat/completions`) and `GET /v1/models`
 * on 127.0.0.1. Replies are scripted with {@link FakeLlm.enqueue} (FIFO), computed by a
 * responder, or default to echoing the last user message.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** One scripted reply of the fake LLM. */
export type FakeReply =
  | { text: string; latencyMs?: number }
  | {
      toolCalls: Array<{ name: string; args: Record<string, unknown>; id?: string }>;
      text?: string;
      latencyMs?: number;
    }
  | { status: number; body?: unknown; retryAfter?: string; latencyMs?: number }
  | { hang: true };

/** A chat completions request as received by the fake LLM. */
export interface FakeLlmRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body. */
  body: any;
  model: string;
  stream: boolean;
  messages: any[];
  tools: any[];
}

/** Handle on a running fake LLM server. */
export interface FakeLlm {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:12345/v1`. */
  baseUrl: string;
  /** Every chat request received, in order (empty when started with `record: false`). */
  requests: FakeLlmRequest[];
  /** Appends replies to the FIFO script; one is consumed per chat request. */
  enqueue(...replies: FakeReply[]): void;
  /** Sets the function used when the queue is empty (null restores the echo default). */
  setResponder(fn: ((req: FakeLlmRequest) => FakeReply | Promise<FakeReply>) | null): void;
  /** Sets the latency applied to replies without their own `latencyMs`. */
  setDefaultLatency(ms: number): void;
  /** Clears the queue, the recorded requests, the request count and the responder. */
  reset(): void;
  /** Resolves once at least `n` chat requests were received since start/reset. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
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

type ToolCallReply = Extract<FakeReply, { toolCalls: unknown }>;
type ErrorReply = Extract<FakeReply, { status: number }>;

const JSON_HEADERS = { "content-type": "application/json" };
const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  connection: "keep-alive",
};

/** Starts a fake OpenAI-compatible chat completions server on 127.0.0.1. */
export async function startFakeLlm(opts: FakeLlmOptions = {}): Promise<FakeLlm> {
  const record = opts.record !== false;
  let defaultLatency = opts.latencyMs ?? 0;
  let queue: FakeReply[] = [];
  let responder: ((req: FakeLlmRequest) => FakeReply | Promise<FakeReply>) | null = null;
  let received = 0;
  let idCounter = 0;
  let closed = false;
  const requests: FakeLlmRequest[] = [];
  const waiters = new Set<{ n: number; resolve: () => void }>();
  const timers = new Set<NodeJS.Timeout>();
  const hanging = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, 500, { error: { message: String(err), type: "fake_llm_error" } });
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
      req.resume();
      sendJson(res, 200, {
        object: "list",
        data: [{ id: "fake-model", object: "model", created: 0, owned_by: "fake" }],
      });
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

    const raw = await readBody(req);
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      sendJson(res, 400, {
        error: { message: "Invalid JSON body", type: "invalid_request_error" },
      });
      return;
    }
    if (body === null || typeof body !== "object") body = {};
    const request: FakeLlmRequest = {
      path,
      headers: req.headers,
      body,
      model: typeof body.model === "string" ? body.model : "fake-model",
      stream: body.stream === true,
      messages: Array.isArray(body.messages) ? body.messages : [],
      tools: Array.isArray(body.tools) ? body.tools : [],
    };
    if (record) requests.push(request);
    received++;
    notifyWaiters();

    let reply: FakeReply;
    const queued = queue.shift();
    if (queued !== undefined) reply = queued;
    else if (responder) reply = await responder(request);
    else reply = { text: "echo: " + lastUserText(request.messages) };

    if ("hang" in reply) {
      hanging.add(res);
      res.once("close", () => hanging.delete(res));
      return;
    }
    const latency = reply.latencyMs ?? defaultLatency;
    if (latency > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, latency);
        timers.add(t);
      });
    }
    if (res.destroyed || closed) return;

    if ("status" in reply) {
      sendError(res, reply);
      return;
    }
    const promptTokens = Math.max(1, Math.ceil(raw.length / 4));
    if (request.stream) {
      sendStream(res, request, reply, promptTokens);
    } else {
      sendCompletion(res, request, reply, promptTokens);
    }
  }

  function nextId(prefix: string): string {
    idCounter++;
    return prefix + idCounter;
  }

  function toolCallsOf(reply: FakeReply): ToolCallReply["toolCalls"] {
    return "toolCalls" in reply ? reply.toolCalls : [];
  }

  function sendCompletion(
    res: ServerResponse,
    request: FakeLlmRequest,
    reply: Exclude<FakeReply, ErrorReply | { hang: true }>,
    promptTokens: number,
  ): void {
    const text = reply.text;
    const calls = toolCallsOf(reply).map((c) => ({
      id: c.id ?? nextId("call_"),
      type: "function",
      function: { name: c.name, arguments: JSON.stringify(c.args) },
    }));
    const completionTokens = estimateCompletionTokens(text, calls);
    const message: Record<string, unknown> = { role: "assistant", content: text ?? null };
    if (calls.length > 0) message.tool_calls = calls;
    sendJson(res, 200, {
      id: nextId("chatcmpl-"),
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [
        {
          index: 0,
          message,
          finish_reason: calls.length > 0 ? "tool_calls" : "stop",
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    });
  }

  function sendStream(
    res: ServerResponse,
    request: FakeLlmRequest,
    reply: Exclude<FakeReply, ErrorReply | { hang: true }>,
    promptTokens: number,
  ): void {
    const id = nextId("chatcmpl-");
    const created = Math.floor(Date.now() / 1000);
    const model = request.model;
    let out = "";
    const chunk = (
      delta: Record<string, unknown>,
      finishReason: string | null,
      usage?: unknown,
    ) => {
      const c: Record<string, unknown> = {
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finishReason }],
      };
      if (usage !== undefined) c.usage = usage;
      out += "data: " + JSON.stringify(c) + "\n\n";
    };

    const text = reply.text;
    chunk({ role: "assistant", content: "" }, null);
    if (text) {
      for (const piece of splitPieces(text, 3)) chunk({ content: piece }, null);
    }
    const calls = toolCallsOf(reply);
    const streamedCalls: Array<{ function: { name: string; arguments: string } }> = [];
    calls.forEach((c, index) => {
      const args = JSON.stringify(c.args);
      streamedCalls.push({ function: { name: c.name, arguments: args } });
      chunk(
        {
          tool_calls: [
            {
              index,
              id: c.id ?? nextId("call_"),
              type: "function",
              function: { name: c.name, arguments: "" },
            },
          ],
        },
        null,
      );
      for (const piece of splitPieces(args, 2)) {
        chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null);
      }
    });
    const completionTokens = estimateCompletionTokens(text, streamedCalls);
    const usage =
      request.body.stream_options?.include_usage === true
        ? {
            prompt_tokens: promptTokens,
            completion_tokens: completionTokens,
            total_tokens: promptTokens + completionTokens,
          }
        : undefined;
    chunk({}, calls.length > 0 ? "tool_calls" : "stop", usage);
    out += "data: [DONE]\n\n";
    res.writeHead(200, SSE_HEADERS);
    res.end(out);
  }

  function notifyWaiters(): void {
    if (waiters.size === 0) return;
    for (const w of waiters) {
      if (received >= w.n) {
        waiters.delete(w);
        w.resolve();
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue(...replies) {
      queue.push(...replies);
    },
    setResponder(fn) {
      responder = fn;
    },
    setDefaultLatency(ms) {
      defaultLatency = ms;
    },
    reset() {
      queue = [];
      requests.length = 0;
      responder = null;
      received = 0;
    },
    waitForRequests(n, timeoutMs = 5000) {
      if (received >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `fake LLM: timed out after ${timeoutMs} ms waiting for ${n} request(s); received ${received}`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () =>
      resolve(
        chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"),
      ),
    );
    req.on("error", reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra?: Record<string, string>,
) {
  const payload = JSON.stringify(body);
  res.writeHead(status, extra ? { ...JSON_HEADERS, ...extra } : JSON_HEADERS);
  res.end(payload);
}

function sendError(res: ServerResponse, reply: ErrorReply): void {
  const headers: Record<string, string> = {};
  if (reply.retryAfter !== undefined) headers["retry-after"] = reply.retryAfter;
  if (typeof reply.body === "string") {
    res.writeHead(reply.status, { "content-type": "text/plain", ...headers });
    res.end(reply.body);
    return;
  }
  const body = reply.body ?? {
    error: {
      message: `Fake LLM error ${reply.status}`,
      type:
        reply.status === 429
          ? "rate_limit_error"
          : reply.status >= 500
            ? "server_error"
            : "invalid_request_error",
    },
  };
  sendJson(res, reply.status, body, headers);
}

function lastUserText(messages: any[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    if (Array.isArray(m.content)) {
      return m.content
        .filter((p: any) => p?.type === "text" && typeof p.text === "string")
        .map((p: any) => p.text)
        .join("");
    }
    return "";
  }
  return "";
}

function splitPieces(s: string, count: number): string[] {
  if (s.length <= 1 || count <= 1) return [s];
  const size = Math.ceil(s.length / count);
  const pieces: string[] = [];
  for (let i = 0; i < s.length; i += size) pieces.push(s.slice(i, i + size));
  return pieces;
}

function estimateCompletionTokens(
  text: string | undefined,
  calls: Array<{ function: { name: string; arguments: string } }>,
): number {
  let chars = text?.length ?? 0;
  for (const c of calls) chars += c.function.name.length + c.function.arguments.length;
  return Math.max(1, Math.ceil(chars / 4));
}
