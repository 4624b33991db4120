/**
 * What the fake LLM answers: scripted replies (FIFO), else a responder function, else an
 * echo of the last user message; and how long it waits before answering.
 */
import type { FakeLlmRequest } from "./fake-llm-wire.ts";

/** Token counts a reply reports instead of the estimates (4 characters a token). */
export interface FakeUsage {
  prompt: number;
  completion: number;
}

/** One scripted reply of the fake LLM. */
export type FakeReply =
  | { text: string; latencyMs?: number; usage?: FakeUsage }
  | {
      toolCalls: Array<{ name: string; args: Record<string, unknown>; id?: string }>;
      text?: string;
      latencyMs?: number;
      usage?: FakeUsage;
    }
  | { status: number; body?: unknown; retryAfter?: string; latencyMs?: number }
  | { hang: true };

/** A reply that is answered (not an error, not a hang). */
export type AnswerReply = Exclude<FakeReply, { status: number } | { hang: true }>;

/** A reply that is an HTTP error. */
export type ErrorReply = Extract<FakeReply, { status: number }>;

/** Computes a reply when the queue is empty. */
export type Responder = (req: FakeLlmRequest) => FakeReply | Promise<FakeReply>;

/** The fake LLM's script: a FIFO queue, a responder, a default latency. */
export class ReplyScript {
  #queue: FakeReply[] = [];
  #responder: Responder | null = null;
  /** Latency of replies without their own `latencyMs`, ms. */
  defaultLatencyMs: number;

  constructor(defaultLatencyMs = 0) {
    this.defaultLatencyMs = defaultLatencyMs;
  }

  /** Appends replies; one is consumed per chat request. */
  enqueue(replies: FakeReply[]): void {
    this.#queue.push(...replies);
  }

  /** Sets the function used when the queue is empty (null restores the echo default). */
  setResponder(fn: Responder | null): void {
    this.#responder = fn;
  }

  /** Clears the queue and the responder (the latency stays). */
  reset(): void {
    this.#queue = [];
    this.#responder = null;
  }

  /** The reply to `req`: the next queued one, else the responder's, else `echo: <last user text>`. */
  async next(req: FakeLlmRequest): Promise<FakeReply> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return queued;
    if (this.#responder) return this.#responder(req);
    return { text: "echo: " + lastUserText(req.messages) };
  }

  /** How long to wait before sending `reply`, ms. */
  latencyOf(reply: Exclude<FakeReply, { hang: true }>): number {
    return reply.latencyMs ?? this.defaultLatencyMs;
  }
}

/** The text of the last user message (text parts joined), or "". */
export function lastUserText(messages: any[]): string {
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
