/**
 * The OpenAI-compatible chat completions wire format as the fake LLM speaks it: the
 * request as received, a `chat.completion` JSON answer, the same as `chat.completion.chunk`
 * server-sent events ending in `[DONE]` (text in 3 pieces, each tool call's arguments in 2,
 * usage only when `stream_options.include_usage`), error bodies like OpenAI's, and the
 * `/v1/models` list. Token counts are estimates (4 characters a token) unless the reply
 * gives its own `usage`.
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { AnswerReply, ErrorReply } from "./fake-llm-script.ts";
import { sendJson } from "./http-server.ts";

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

/** Ids of one server: `chatcmpl-1`, `call_2`… (one counter for all prefixes). */
export class IdCounter {
  #n = 0;
  next(prefix: string): string {
    this.#n++;
    return prefix + this.#n;
  }
}

/** The `GET /v1/models` answer. */
export const MODELS = {
  object: "list",
  data: [{ id: "fake-model", object: "model", created: 0, owned_by: "fake" }],
};

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  connection: "keep-alive",
};

/** Reads a chat request from its raw JSON body; undefined when the body is not JSON. */
export function parseChatRequest(
  path: string,
  headers: IncomingHttpHeaders,
  raw: string,
): FakeLlmRequest | undefined {
  let body: any;
  try {
    body = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== "object") body = {};
  return {
    path,
    headers,
    body,
    model: typeof body.model === "string" ? body.model : "fake-model",
    stream: body.stream === true,
    messages: Array.isArray(body.messages) ? body.messages : [],
    tools: Array.isArray(body.tools) ? body.tools : [],
  };
}

/** What is needed to answer a chat request. */
export interface Answer {
  res: ServerResponse;
  request: FakeLlmRequest;
  reply: AnswerReply;
  /** Estimated from the request body's size (a reply's `usage` overrides it). */
  promptTokens: number;
  ids: IdCounter;
}

/** Answers `reply` as one `chat.completion` JSON body. */
export function sendCompletion({ res, request, reply, promptTokens, ids }: Answer): void {
  const text = reply.text;
  const calls = toolCallsOf(reply).map((c) => ({
    id: c.id ?? ids.next("call_"),
    type: "function",
    function: { name: c.name, arguments: JSON.stringify(c.args) },
  }));
  const completionTokens = reply.usage?.completion ?? estimateCompletionTokens(text, calls);
  promptTokens = reply.usage?.prompt ?? promptTokens;
  const message: Record<string, unknown> = { role: "assistant", content: text ?? null };
  if (calls.length > 0) message.tool_calls = calls;
  sendJson(res, 200, {
    id: ids.next("chatcmpl-"),
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

/** Answers `reply` as `chat.completion.chunk` server-sent events, all in one write. */
export function sendStream({ res, request, reply, promptTokens, ids }: Answer): void {
  const id = ids.next("chatcmpl-");
  const created = Math.floor(Date.now() / 1000);
  const model = request.model;
  let out = "";
  const chunk = (delta: Record<string, unknown>, finishReason: string | null, usage?: unknown) => {
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
            id: c.id ?? ids.next("call_"),
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
  const completionTokens = reply.usage?.completion ?? estimateCompletionTokens(text, streamedCalls);
  promptTokens = reply.usage?.prompt ?? promptTokens;
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

/**
 * Answers an error reply: its body as text/plain when a string, as JSON otherwise, by
 * default an OpenAI-style error object whose type follows the status; `retry-after` when set.
 */
export function sendError(res: ServerResponse, reply: ErrorReply): void {
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

function toolCallsOf(reply: AnswerReply) {
  return "toolCalls" in reply ? reply.toolCalls : [];
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

/** An image a chat request carried (OpenAI `image_url` part with a data URL). */
export interface SentImage {
  mediaType: string;
  bytes: Buffer;
}

/**
 * The images in the user messages of a recorded chat request (`image_url` parts with
 * `data:<type>;base64,` URLs, as the OpenAI-compatible provider sends image parts), in order.
 */
export function imagesOf(req: FakeLlmRequest): SentImage[] {
  const out: SentImage[] = [];
  for (const m of req.messages) {
    if (m?.role !== "user" || !Array.isArray(m.content)) continue;
    for (const p of m.content) {
      const url = p?.type === "image_url" ? p.image_url?.url : undefined;
      const match = typeof url === "string" ? /^data:([^;,]+);base64,(.*)$/s.exec(url) : null;
      if (match) out.push({ mediaType: match[1]!, bytes: Buffer.from(match[2]!, "base64") });
    }
  }
  return out;
}

/** Every text part (or string content) of the user messages of a recorded request, joined. */
export function userTextOf(req: FakeLlmRequest): string {
  const texts: string[] = [];
  for (const m of req.messages) {
    if (m?.role !== "user") continue;
    if (typeof m.content === "string") texts.push(m.content);
    else if (Array.isArray(m.content)) {
      for (const p of m.content) if (p?.type === "text") texts.push(String(p.text));
    }
  }
  return texts.join("\n");
}
