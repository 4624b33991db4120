/**
 * A fake Discord REST API on 127.0.0.1 for the adapter tests: the endpoints the Discord
 * adapter and its CLI call, recorded, with Discord's answers in shape.
 *
 * - `PATCH /webhooks/:app/:token/messages/@original` → 200 message (edits the deferred response)
 * - `POST /webhooks/:app/:token` → 200 message (a follow-up)
 * - `POST /channels/:id/messages` (`Authorization: Bot <token>`) → 200 message; with
 *   `enforce_nonce: true`, a nonce seen before returns the first message and creates none
 * - `PATCH /channels/:id/messages/:message` (bot) → 200 the message, its `content` and
 *   `components` replaced (recorded in `edits`); 404 `Unknown Message` for one not there
 * - `POST /channels/:id/typing` (bot) → 204
 * - `PUT /applications/:app/commands`, `PUT /applications/:app/guilds/:g/commands` (bot)
 *   → 200 the commands with ids
 * - a message body may be multipart/form-data (`payload_json` + `files[n]`, as Discord takes
 *   uploads: https://discord.com/developers/docs/reference#uploading-files): the JSON is
 *   read from `payload_json`, the files kept on the request and the message
 * - `GET /cdn/…` serves files added with `addCdnFile` (the attachment URLs of interactions)
 * A wrong bot token gets 401 `{message: "401: Unauthorized", code: 0}`; unknown paths 404.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { CountWaiter, parseJson, readBody, sendJson, startLocalServer } from "./http-server.ts";

/** One request received. */
export interface FakeDiscordRequest {
  method: string;
  pathname: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: any;
  /** Files of a multipart body. */
  files: FakeUpload[];
}

/** One uploaded file. */
export interface FakeUpload {
  field: string;
  name: string;
  type: string;
  bytes: Buffer;
}

/** A message the fake holds: where it went and what it says. */
export interface FakeMessage {
  id: string;
  via: "original" | "followup" | "channel";
  /** The interaction token (webhook paths). */
  token?: string;
  /** The channel (channel path). */
  channel?: string;
  content: string;
  body: any;
  /** Files uploaded with it. */
  files: FakeUpload[];
}

/** A one-shot failure: the next request matching `method` and `path` gets `status`. */
export interface FakeDiscordFailure {
  method?: string;
  path?: RegExp;
  status: number;
  body?: unknown;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** How many matching requests pass before the failures start (default 0). */
  skip?: number;
  /**
   * A channel message is created, but the answer is `status` (an outcome the sender cannot
   * know: the response was lost).
   */
  afterCreate?: boolean;
}

/** Handle on a running fake. */
export interface FakeDiscord {
  /** API root (use as DISCORD_API_URL). */
  url: string;
  requests: FakeDiscordRequest[];
  /** Messages made, in order (an edit of @original replaces the earlier one of its token). */
  messages: FakeMessage[];
  /** Channel message edits (PATCH), in order: the message id and the body sent. */
  edits: Array<{ id: string; channel: string; body: any }>;
  /** Command lists received by PUT, with the path they came to. */
  commandPuts: Array<{ pathname: string; commands: any[] }>;
  failNext(rule: FakeDiscordFailure): void;
  /** Serves `bytes` at `/cdn/<path>`; returns the full URL. */
  addCdnFile(path: string, bytes: Buffer): string;
  /** CDN paths served, in order. */
  cdnDownloads: string[];
  /** Resolves once `pred` holds for the messages (polled on each request). */
  waitFor(pred: (m: FakeMessage[]) => boolean, timeoutMs?: number): Promise<FakeMessage[]>;
  reset(): void;
  close(): Promise<void>;
}

/** Starts the fake. @param opts.botToken the bot token requests must carry */
export async function startFakeDiscord(opts: { botToken: string }): Promise<FakeDiscord> {
  const requests: FakeDiscordRequest[] = [];
  const messages: FakeMessage[] = [];
  const commandPuts: FakeDiscord["commandPuts"] = [];
  const edits: FakeDiscord["edits"] = [];
  const nonces = new Map<string, FakeMessage>();
  const failures: FakeDiscordFailure[] = [];
  let seq = 0;
  let version = 0;
  const changed = new CountWaiter(() => version);
  const cdn = new Map<string, Buffer>();
  const cdnDownloads: string[] = [];

  const message = (m: Omit<FakeMessage, "id">): FakeMessage => {
    const out = { id: String(900000000000000000n + BigInt(++seq)), ...m };
    messages.push(out);
    return out;
  };
  const wire = (m: FakeMessage) => ({
    id: m.id,
    type: 0,
    content: m.content,
    channel_id: m.channel ?? "0",
    author: { id: "1234567890123456789", username: "switchyard", bot: true },
    timestamp: new Date().toISOString(),
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const body = raw.toString("utf8");
    const pathname = new URL(req.url ?? "/", "http://x").pathname;
    const method = req.method ?? "GET";
    const cdnFile = pathname.startsWith("/cdn/") ? cdn.get(pathname.slice(5)) : undefined;
    if (cdnFile && method === "GET") {
      cdnDownloads.push(pathname.slice(5));
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(cdnFile);
      version++;
      changed.notify();
      return;
    }
    const contentType = String(req.headers["content-type"] ?? "");
    let json = parseJson(body);
    const files: FakeUpload[] = [];
    if (contentType.startsWith("multipart/form-data")) {
      const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
      json = undefined;
      for (const [k, v] of form.entries()) {
        if (typeof v === "string") {
          if (k === "payload_json") json = parseJson(v);
        } else {
          files.push({
            field: k,
            name: v.name,
            type: v.type,
            bytes: Buffer.from(await v.arrayBuffer()),
          });
        }
      }
    }
    const r: FakeDiscordRequest = {
      method,
      pathname,
      headers: req.headers,
      body,
      json,
      files,
    };
    requests.push(r);
    let lostAnswer: number | undefined;
    try {
      const fail = failures.findIndex(
        (f) => (!f.method || f.method === method) && (!f.path || f.path.test(pathname)),
      );
      if (fail >= 0 && (failures[fail]!.skip ?? 0) > 0) {
        failures[fail]!.skip! -= 1;
      } else if (fail >= 0) {
        const f = failures[fail]!;
        if ((f.times ?? 1) <= 1) failures.splice(fail, 1);
        else f.times = (f.times ?? 1) - 1;
        if (f.afterCreate) lostAnswer = f.status;
        else
          return sendJson(res, f.status, f.body ?? { message: "Internal Server Error", code: 0 });
      }
      const bot = () => req.headers.authorization === `Bot ${opts.botToken}`;
      const unauthorized = () => sendJson(res, 401, { message: "401: Unauthorized", code: 0 });
      const original = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/.exec(pathname);
      const webhook = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(pathname);
      const channel = /^\/channels\/(\d+)\/messages$/.exec(pathname);
      if (original && method === "PATCH") {
        const token = decodeURIComponent(original[2]!);
        const old = messages.findIndex((x) => x.via === "original" && x.token === token);
        if (old >= 0) messages.splice(old, 1);
        const msg = message({
          via: "original",
          token,
          content: r.json?.content ?? "",
          body: r.json,
          files: r.files,
        });
        return sendJson(res, 200, wire(msg));
      }
      if (webhook && method === "POST") {
        const token = decodeURIComponent(webhook[2]!);
        const msg = message({
          via: "followup",
          token,
          content: r.json?.content ?? "",
          body: r.json,
          files: r.files,
        });
        return sendJson(res, 200, wire(msg));
      }
      if (channel && method === "POST") {
        if (!bot()) return unauthorized();
        const nonce = r.json?.nonce;
        const seen =
          r.json?.enforce_nonce === true && nonce !== undefined
            ? nonces.get(String(nonce))
            : undefined;
        if (seen && lostAnswer)
          return sendJson(res, lostAnswer, { message: "upstream lost", code: 0 });
        if (seen) return sendJson(res, 200, wire(seen));
        const msg = message({
          via: "channel",
          channel: channel[1]!,
          content: r.json?.content ?? "",
          body: r.json,
          files: r.files,
        });
        if (r.json?.enforce_nonce === true && nonce !== undefined) nonces.set(String(nonce), msg);
        if (lostAnswer) return sendJson(res, lostAnswer, { message: "upstream lost", code: 0 });
        return sendJson(res, 200, wire(msg));
      }
      const edit = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(pathname);
      if (edit && method === "PATCH") {
        if (!bot()) return unauthorized();
        const m = messages.find(
          (x) => x.via === "channel" && x.channel === edit[1] && x.id === edit[2],
        );
        if (!m) return sendJson(res, 404, { message: "Unknown Message", code: 10008 });
        if (typeof r.json?.content === "string") m.content = r.json.content;
        m.body = { ...m.body, ...r.json };
        edits.push({ id: m.id, channel: m.channel!, body: r.json });
        return sendJson(res, 200, wire(m));
      }
      if (/^\/channels\/(\d+)\/typing$/.test(pathname) && method === "POST") {
        if (!bot()) return unauthorized();
        res.writeHead(204).end();
        return;
      }
      if (/^\/applications\/\d+(\/guilds\/\d+)?\/commands$/.test(pathname) && method === "PUT") {
        if (!bot()) return unauthorized();
        const commands = Array.isArray(r.json) ? r.json : [];
        commandPuts.push({ pathname, commands });
        return sendJson(
          res,
          200,
          commands.map((c: any, i: number) => ({
            id: `77000000000000000${i}`,
            version: "1",
            ...c,
          })),
        );
      }
      return sendJson(res, 404, { message: "404: Not Found", code: 0 });
    } finally {
      version++;
      changed.notify();
    }
  }

  const local = await startLocalServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  return {
    url: local.url,
    requests,
    messages,
    edits,
    commandPuts,
    failNext: (rule) => failures.push({ ...rule }),
    addCdnFile(path, bytes) {
      cdn.set(path, bytes);
      return `${local.url}/cdn/${path}`;
    },
    cdnDownloads,
    async waitFor(pred, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (!pred(messages)) {
        const left = until - Date.now();
        if (left <= 0)
          throw new Error(
            `fake Discord: condition not met; messages: ${JSON.stringify(messages.map((x) => ({ via: x.via, content: x.content.slice(0, 60) })))}`,
          );
        await changed
          .wait(version + 1, left, () => new Error("fake Discord: timed out"))
          .catch(() => {});
      }
      return messages;
    },
    reset() {
      requests.length = 0;
      messages.length = 0;
      commandPuts.length = 0;
      edits.length = 0;
      failures.length = 0;
      nonces.clear();
    },
    close: () => local.close(),
  };
}
