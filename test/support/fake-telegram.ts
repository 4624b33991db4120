/**
 * A fake Telegram Bot API on 127.0.0.1 for tests (https://core.telegram.org/bots/api):
 * requests go to `/bot<token>/<method>` with a JSON body, answers are `{ok: true, result}`
 * or `{ok: false, error_code, description, parameters?}` as the Bot API answers them.
 *
 * - `getMe`: the bot (`id`, `username`).
 * - `getUpdates` (`offset`, `timeout` seconds, `allowed_updates`): serves the queue of
 *   pushed updates with `update_id >= offset` of the kinds in `allowed_updates` (all kinds
 *   without it); asking with an `offset` confirms (drops) the
 *   earlier ones, as Telegram does. With nothing to serve it holds the request up to
 *   `timeout` seconds and answers as soon as an update is pushed. A getUpdates arriving
 *   while another is held ends the held one with `409 Conflict: terminated by other
 *   getUpdates request` (as Telegram does) and counts an overlap; while a webhook is set
 *   it answers 409 too.
 * - `setWebhook` (`url`, `secret_token`, `allowed_updates`), `deleteWebhook`.
 * - `sendMessage` (stored with an increasing `message_id`, `reply_markup` kept), `sendChatAction`.
 * - `editMessageText` (`chat_id`, `message_id`, `text`, `reply_markup?`) and
 *   `editMessageReplyMarkup`: change a sent message (recorded in `edits`); `400 Bad Request:
 *   message is not modified` when nothing changes, `message to edit not found` for an
 *   unknown one (https://core.telegram.org/bots/api#updating-messages).
 * - `answerCallbackQuery` (`callback_query_id`, `text?`): recorded in `answers`; a query id
 *   answered before gets `400 Bad Request: query is too old…`, as Telegram does.
 * - `getFile` (`file_id`) for files added with `addFile`, and their bytes at
 *   `GET /file/bot<token>/<file_path>` (https://core.telegram.org/bots/api#getfile).
 * - `sendDocument` / `sendPhoto` as multipart/form-data (a file upload): recorded in
 *   `uploads` with the file's name, type and bytes.
 * - `failNext(method, status)`: the next call of `method` fails once with that status
 *   (`retry_after` for 429).
 * A wrong token gets `401 Unauthorized`.
 */
import type { ServerResponse } from "node:http";
import { parseJson, readBody, sendJson, startLocalServer } from "./http-server.ts";

/** One API call received. */
export interface FakeTelegramCall {
  method: string;
  body: any;
  at: number;
}

/** Handle on a running fake. */
export interface FakeTelegram {
  /** API root, e.g. `http://127.0.0.1:12345` (TELEGRAM_API_URL). */
  url: string;
  token: string;
  bot: { id: number; username: string; first_name: string; is_bot: true };
  /** Every call, in order of arrival. */
  calls: FakeTelegramCall[];
  /** Calls of one method. */
  callsOf(method: string): FakeTelegramCall[];
  /** The messages the bot sent (sendMessage bodies plus their message_id). */
  sent: Array<{ message_id: number; body: any }>;
  /** Edits of sent messages, in order (`message_id` and the message's body after the edit). */
  edits: Array<{ method: string; message_id: number; body: any }>;
  /** answerCallbackQuery calls, in order. */
  answers: Array<{ callback_query_id: string; text?: string }>;
  /** The webhook as set by setWebhook, or undefined. */
  webhook: { url: string; secret_token?: string; allowed_updates?: string[] } | undefined;
  /** getUpdates requests that overlapped a held one (each answered 409 to the older). */
  overlaps: number;
  /** getUpdates answered 409 for any reason. */
  conflicts: number;
  /** Files uploaded by sendDocument/sendPhoto (multipart), in order. */
  uploads: Array<{
    method: string;
    fields: Record<string, string>;
    file: { field: string; name: string; type: string; bytes: Buffer };
  }>;
  /** Downloads served at `/file/bot<token>/…`, by file path. */
  downloads: string[];
  /** Makes a file known to getFile and downloadable; returns its file_path. */
  addFile(fileId: string, bytes: Buffer, path?: string): string;
  /** Queues updates (`update_id` given by the caller) for getUpdates. */
  push(...updates: any[]): void;
  /** Updates still unconfirmed. */
  pending(): any[];
  /** The next call of `method` fails once with `status`. */
  failNext(method: string, status: number, retryAfterSeconds?: number): void;
  /** Resolves once `pred()` holds (checked after every call), or rejects after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts a fake for bot `token`. */
export async function startFakeTelegram(
  opts: { token?: string; botId?: number; username?: string } = {},
): Promise<FakeTelegram> {
  const token = opts.token ?? "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
  const bot = {
    id: opts.botId ?? Number(token.split(":")[0]),
    is_bot: true as const,
    first_name: "Switchyard",
    username: opts.username ?? "switchyard_test_bot",
  };
  const calls: FakeTelegramCall[] = [];
  const sent: Array<{ message_id: number; body: any }> = [];
  const edits: FakeTelegram["edits"] = [];
  const answers: FakeTelegram["answers"] = [];
  let queue: any[] = [];
  let nextMessageId = 1000;
  const failures = new Map<string, { status: number; retryAfter?: number }>();
  const files = new Map<string, { path: string; bytes: Buffer }>();
  const waiters = new Set<() => void>();
  /** The held getUpdates, if any. */
  let held:
    | { res: ServerResponse; offset: number | undefined; allowed?: string[]; timer: NodeJS.Timeout }
    | undefined;

  const notify = () => {
    for (const w of [...waiters]) w();
  };
  const ok = (res: ServerResponse, result: unknown) => sendJson(res, 200, { ok: true, result });
  const fail = (res: ServerResponse, code: number, description: string, parameters?: object) =>
    sendJson(res, code, {
      ok: false,
      error_code: code,
      description,
      ...(parameters ? { parameters } : {}),
    });
  /** The kind of an update: its one field besides `update_id` (`message`, `callback_query`…). */
  const kindOf = (u: any) => Object.keys(u).find((k) => k !== "update_id");
  /** Telegram serves only the kinds asked for (`allowed_updates`; all when not given). */
  const available = (offset: number | undefined, allowed?: string[]) =>
    queue
      .filter((u) => offset === undefined || u.update_id >= offset)
      .filter((u) => !allowed || allowed.includes(kindOf(u) ?? ""))
      .slice(0, 100);
  const answerHeld = () => {
    if (!held) return;
    const h = held;
    const ups = available(h.offset, h.allowed);
    if (ups.length === 0) return;
    held = undefined;
    clearTimeout(h.timer);
    ok(h.res, ups);
  };

  const fake: FakeTelegram = {
    url: "",
    token,
    bot,
    calls,
    callsOf: (m) => calls.filter((c) => c.method === m),
    sent,
    edits,
    answers,
    webhook: undefined,
    overlaps: 0,
    conflicts: 0,
    uploads: [],
    downloads: [],
    addFile(fileId, bytes, path = `documents/${fileId}.bin`) {
      files.set(fileId, { path, bytes });
      return path;
    },
    push(...updates) {
      queue.push(...updates);
      queue.sort((a, b) => a.update_id - b.update_id);
      answerHeld();
    },
    pending: () => [...queue],
    failNext(method, status, retryAfterSeconds) {
      failures.set(method, { status, retryAfter: retryAfterSeconds });
    },
    waitFor(pred, timeoutMs = 10_000, what = "the fake Telegram") {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred()) return;
          waiters.delete(check);
          clearTimeout(timer);
          clearInterval(poll);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          clearInterval(poll);
          reject(new Error(`timed out waiting for ${what}`));
        }, timeoutMs);
        const poll = setInterval(check, 50);
        waiters.add(check);
      });
    },
    close: async () => {},
  };

  const server = await startLocalServer(async (req, res) => {
    const pathname = new URL(req.url ?? "/", "http://x").pathname;
    const raw = await readBody(req);
    const dl = /^\/file\/bot([^/]+)\/(.+)$/.exec(pathname);
    if (dl && req.method === "GET") {
      if (dl[1] !== token) return fail(res, 401, "Unauthorized");
      const f = [...files.values()].find((x) => x.path === decodeURIComponent(dl[2]!));
      if (!f) return fail(res, 404, "Not Found");
      fake.downloads.push(f.path);
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": f.bytes.length,
      });
      res.end(f.bytes);
      notify();
      return;
    }
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(pathname);
    if (!m) return fail(res, 404, "Not Found");
    if (m[1] !== token) return fail(res, 401, "Unauthorized");
    const method = m[2]!;
    const contentType = String(req.headers["content-type"] ?? "");
    let body: any;
    if (contentType.startsWith("multipart/form-data")) {
      const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
      const fields: Record<string, string> = {};
      let file: { field: string; name: string; type: string; bytes: Buffer } | undefined;
      for (const [k, v] of form.entries()) {
        if (typeof v === "string") fields[k] = v;
        else
          file = {
            field: k,
            name: v.name,
            type: v.type,
            bytes: Buffer.from(await v.arrayBuffer()),
          };
      }
      body = { ...fields };
      if (file) fake.uploads.push({ method, fields, file });
    } else {
      body = parseJson(raw.toString("utf8")) ?? {};
    }
    calls.push({ method, body, at: Date.now() });
    try {
      const f = failures.get(method);
      if (f) {
        failures.delete(method);
        return f.status === 429
          ? fail(res, 429, `Too Many Requests: retry after ${f.retryAfter ?? 1}`, {
              retry_after: f.retryAfter ?? 1,
            })
          : fail(res, f.status, f.status >= 500 ? "Internal Server Error" : "Bad Request");
      }
      switch (method) {
        case "getMe":
          return ok(res, { ...bot, can_join_groups: true, can_read_all_group_messages: false });
        case "setWebhook":
          fake.webhook = {
            url: body.url,
            ...(body.secret_token ? { secret_token: body.secret_token } : {}),
            ...(body.allowed_updates ? { allowed_updates: body.allowed_updates } : {}),
          };
          return ok(res, true);
        case "deleteWebhook":
          fake.webhook = undefined;
          return ok(res, true);
        case "sendChatAction":
          return ok(res, true);
        case "getFile": {
          const f = files.get(String(body.file_id));
          if (!f) return fail(res, 400, "Bad Request: invalid file_id");
          return ok(res, {
            file_id: body.file_id,
            file_unique_id: `u${body.file_id}`,
            file_size: f.bytes.length,
            file_path: f.path,
          });
        }
        case "sendDocument":
        case "sendPhoto": {
          const message_id = nextMessageId++;
          return ok(res, {
            message_id,
            from: bot,
            chat: { id: Number(body.chat_id), type: "private" },
            date: Math.floor(Date.now() / 1000),
          });
        }
        case "sendMessage": {
          const message_id = nextMessageId++;
          sent.push({ message_id, body });
          return ok(res, {
            message_id,
            from: bot,
            chat: { id: Number(body.chat_id), type: "private" },
            date: Math.floor(Date.now() / 1000),
            text: body.text,
          });
        }
        case "editMessageText":
        case "editMessageReplyMarkup": {
          const m = sent.find(
            (x) =>
              x.message_id === Number(body.message_id) &&
              String(x.body.chat_id) === String(body.chat_id),
          );
          if (!m) return fail(res, 400, "Bad Request: message to edit not found");
          const next = {
            ...m.body,
            ...(method === "editMessageText" ? { text: body.text } : {}),
            reply_markup: body.reply_markup,
          };
          if (JSON.stringify(next) === JSON.stringify(m.body)) {
            return fail(
              res,
              400,
              "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
            );
          }
          m.body = next;
          edits.push({ method, message_id: m.message_id, body: next });
          return ok(res, {
            message_id: m.message_id,
            from: bot,
            chat: { id: Number(body.chat_id), type: "private" },
            date: Math.floor(Date.now() / 1000),
            text: next.text,
          });
        }
        case "answerCallbackQuery": {
          if (answers.some((a) => a.callback_query_id === body.callback_query_id)) {
            return fail(
              res,
              400,
              "Bad Request: query is too old and response timeout expired or query ID is invalid",
            );
          }
          answers.push({
            callback_query_id: String(body.callback_query_id),
            ...(typeof body.text === "string" ? { text: body.text } : {}),
          });
          return ok(res, true);
        }
        case "getUpdates": {
          if (fake.webhook) {
            fake.conflicts++;
            return fail(
              res,
              409,
              "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            );
          }
          const offset = typeof body.offset === "number" ? body.offset : undefined;
          if (offset !== undefined) queue = queue.filter((u) => u.update_id >= offset);
          if (held) {
            fake.overlaps++;
            fake.conflicts++;
            const h = held;
            held = undefined;
            clearTimeout(h.timer);
            fail(
              h.res,
              409,
              "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            );
          }
          const allowed = Array.isArray(body.allowed_updates) ? body.allowed_updates : undefined;
          const ups = available(offset, allowed);
          const timeout = Number(body.timeout ?? 0);
          if (ups.length > 0 || !(timeout > 0)) return ok(res, ups);
          const timer = setTimeout(() => {
            if (held?.res === res) held = undefined;
            ok(res, []);
          }, timeout * 1000);
          held = { res, offset, ...(allowed ? { allowed } : {}), timer };
          res.on("close", () => {
            if (held?.res === res) {
              clearTimeout(held.timer);
              held = undefined;
            }
          });
          return;
        }
        default:
          return fail(res, 404, "Not Found: method not found");
      }
    } finally {
      notify();
    }
  });
  fake.url = server.url;
  fake.close = async () => {
    if (held) clearTimeout(held.timer);
    held = undefined;
    await server.close();
  };
  return fake;
}
