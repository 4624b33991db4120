/**
 * `switchyard chat [--bot ID] [--conversation NAME] [--url URL]`: a terminal chat with a
 * running server, over its REST API with `SWITCHYARD_API_KEY` (or the data dir's
 * `api-key` file). Each line typed is sent as a message with a turn; while the turn runs a
 * progress line shows (`… thinking`), then the reply is printed (or `[Error: …]`). The
 * conversation's open session (client id `local:<NAME>#…`) is continued; `/new` ends it
 * and starts a fresh one. Ctrl-D (end of input) exits 0. Reads the session's live stream
 * (`GET /api/v1/sessions/{id}/stream`), so it works with piped stdin too. A tool call
 * waiting for approval is shown and the next line answers it (`./chat-approvals.ts`).
 */
import { createInterface } from "node:readline";
import type { Config } from "../config.ts";
import { answerApprovals } from "./chat-approvals.ts";
import { apiKeyOf, localServerUrl } from "./server-api.ts";

/** Options of {@link chat}. */
export interface ChatOptions {
  bot: string;
  conversation: string;
  /** The server's base URL; default `http://HOST:PORT` from the configuration. */
  url?: string;
}

/**
 * Runs the chat until stdin ends.
 * @returns the exit code: 0 at end of input, 1 when the server cannot be reached or refuses
 */
export async function chat(config: Config, opts: ChatOptions): Promise<number> {
  const key = apiKeyOf(config);
  if (!key) {
    process.stderr.write(
      "No API key: set SWITCHYARD_API_KEY or start the server once to create one\n",
    );
    return 1;
  }
  const base = (opts.url ?? localServerUrl(config)).replace(/\/$/, "");
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  };
  const prefix = `local:${opts.conversation}`;
  const newSession = async (): Promise<string> =>
    (
      await call("POST", "/api/v1/sessions", {
        client_id: `${prefix}#${Date.now()}`,
        bot_id: opts.bot,
      })
    ).session_id;
  const openSession = async (): Promise<string> => {
    const q = new URLSearchParams({
      client_id: `${prefix}#`,
      bot: opts.bot,
      status: "open",
      limit: "1",
    });
    const found = (await call("GET", `/api/v1/sessions?${q}`)).items?.[0]?.id;
    return found ?? (await newSession());
  };

  let sessionId: string;
  try {
    sessionId = await openSession();
  } catch (err) {
    process.stderr.write(`switchyard chat: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(
    `Chatting with bot ${opts.bot} (session ${sessionId}); /new for a fresh session, Ctrl-D to quit.\n`,
  );

  const rl = createInterface({ input: process.stdin, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const nextLine = async () => {
    const r = await lines.next();
    return r.done ? undefined : (r.value as string);
  };
  const write = (text: string) => process.stdout.write(text);

  /** Sends one line and prints progress, approval requests and the reply. */
  const turn = async (line: string): Promise<void> => {
    const asked = new Set<string>();
    const stream = await fetch(`${base}/api/v1/sessions/${sessionId}/stream`, { headers });
    if (!stream.ok || !stream.body) throw new Error(`stream: HTTP ${stream.status}`);
    const sent = await call("POST", `/api/v1/sessions/${sessionId}/messages`, {
      content: line,
      run_agent: true,
    });
    const reader = stream.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    // The turn is queued: progress shows until its reply (or error) arrives.
    process.stdout.write("… thinking\n");
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the server closed the stream");
        buf += decoder.decode(value, { stream: true });
        let at = buf.indexOf("\n\n");
        while (at !== -1) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          at = buf.indexOf("\n\n");
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!event || !data) continue;
          const d = JSON.parse(data);
          if (event === "task" && d.id === sent.task_id) {
            if (d.status === "failed" || d.status === "cancelled") {
              process.stdout.write(`[Error: ${d.error ?? d.status}]\n`);
              return;
            }
            if (d.status === "waiting_approval") {
              if (!(await answerApprovals(call, sent.task_id, asked, nextLine, write))) return;
            }
          }
          if (event === "message" && d.role === "assistant" && d.task_id === sent.task_id) {
            process.stdout.write(`${d.content}\n`);
            return;
          }
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  };

  try {
    for (;;) {
      const raw = await nextLine();
      if (raw === undefined) break;
      const line = raw.trim();
      if (!line) continue;
      if (line === "/new") {
        await call("POST", `/api/v1/sessions/${sessionId}/end`);
        sessionId = await newSession();
        process.stdout.write(`Started a new session (${sessionId}).\n`);
        continue;
      }
      await turn(line);
    }
  } catch (err) {
    process.stderr.write(`switchyard chat: ${(err as Error).message}\n`);
    return 1;
  }
  return 0;
}
