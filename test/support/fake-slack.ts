/**
 * A fake Slack Web API on 127.0.0.1 for tests: the methods the Slack adapter calls, each
 * answering Slack's JSON (`{ok: true, …}` or `{ok: false, error}` with HTTP 200, as Slack
 * does; https://api.slack.com/web#responses), reading form-encoded or JSON bodies.
 *
 * - `auth.test` → `{ok, user_id, team_id, bot_id}`
 * - `chat.postMessage` `{channel, text, thread_ts?, username?, icon_url?, metadata?}` →
 *   `{ok, channel, ts, message}`; the post is stored (metadata kept as sent)
 * - `conversations.replies` `{channel, ts, include_all_metadata?, limit?, cursor?}` and
 *   `conversations.history` `{channel, …}`: stored posts (a thread oldest first, a channel
 *   newest first), `metadata` only with `include_all_metadata`; `cursor` is an offset
 * - `reactions.add` / `reactions.remove` `{channel, timestamp, name}` (`already_reacted`,
 *   `no_reaction`)
 * - `chat.update` `{channel, ts, text, blocks?}` → `{ok, channel, ts, text}`: replaces the
 *   stored post's text and blocks (`message_not_found` for an unknown ts); each update is
 *   also recorded in `updates`
 * - `chat.postEphemeral` `{channel, user, text, thread_ts?}` → `{ok, message_ts}`: recorded
 *   in `ephemerals` (https://api.slack.com/methods/chat.postEphemeral)
 * `blocks` (form-encoded as JSON, as WebClient sends them) are decoded and stored.
 *
 * - files (https://api.slack.com/messaging/files): `files.info` `{file}` for files added with
 *   `addFile`, their bytes at `url_private_download` (`GET /files-pri/<id>/<name>`, bearer
 *   token required); uploads by `files.getUploadURLExternal` `{filename, length}` →
 *   `{upload_url, file_id}`, the bytes POSTed to `upload_url`, then
 *   `files.completeUploadExternal` `{files: [{id, title}], channel_id, thread_ts?}`, which
 *   records the upload in `uploads`
 *
 * Every call needs `Authorization: Bearer <token>` (else `invalid_auth`). Switches:
 * `failNext(method, status)` answers HTTP `status` once (nothing stored); `holdNext(method)`
 * does the work (stores the post), then holds the HTTP answer until `release()` or close.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { CountWaiter, parseJson, readBody, sendJson, startLocalServer } from "./http-server.ts";

/** One Web API call received. */
export interface FakeSlackCall {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  args: Record<string, any>;
}

/** A stored post of the bot. */
export interface FakeSlackPost {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  /** Block Kit blocks, as sent (decoded). */
  blocks?: any[];
  username?: string;
  icon_url?: string;
  metadata?: any;
}

/** Handle on a running fake Slack. */
export interface FakeSlack {
  /** Web API base URL with the trailing slash (use as SLACK_API_URL). */
  apiUrl: string;
  calls: FakeSlackCall[];
  posts: FakeSlackPost[];
  /** Reactions present now, as `channel/timestamp/name`. */
  reactions: Set<string>;
  /** Every reaction ever added, as `channel/timestamp/name`. */
  reactionsAdded: string[];
  /**
   * The next call of `method` answers HTTP `status` with `{ok: false, error}` (nothing
   * done); with status 200 that is a Slack API error such as `invalid_auth`.
   */
  failNext(method: string, status: number, error?: string): void;
  /** The next call of `method` is done, its answer held; resolves when it arrived. */
  holdNext(method: string): Promise<FakeSlackCall>;
  /** Answers the held call. */
  release(): void;
  /** `chat.update` calls that changed a post, in order. */
  updates: Array<{ channel: string; ts: string; text: string; blocks?: any[] }>;
  /** `chat.postEphemeral` messages, in order. */
  ephemerals: Array<{ channel: string; user: string; text: string; thread_ts?: string }>;
  /** Resolves once `pred()` holds (checked after every call), else rejects after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Resolves once `n` posts are stored. */
  waitForPosts(n: number, timeoutMs?: number): Promise<FakeSlackPost[]>;
  /** Completed file uploads (bytes, name, channel, thread), in order. */
  uploads: Array<{
    id: string;
    filename: string;
    title?: string;
    channel: string;
    thread_ts?: string;
    bytes: Buffer;
  }>;
  /** Makes a file known to files.info and downloadable at its url_private_download. */
  addFile(id: string, name: string, mimetype: string, bytes: Buffer): void;
  /** File ids downloaded from url_private_download, in order. */
  downloads: string[];
  /** Forgets calls, posts, reactions and switches. */
  reset(): void;
  close(): Promise<void>;
}

/** Options of {@link startFakeSlack}. */
export interface FakeSlackOptions {
  token: string;
  /** The bot's user id (auth.test's `user_id`). */
  botUserId: string;
  teamId: string;
}

/** Form-encoded (as WebClient sends) or JSON arguments; `metadata` decoded from JSON. */
function argsOf(req: IncomingMessage, body: string): Record<string, any> {
  const type = String(req.headers["content-type"] ?? "");
  const args: Record<string, any> = type.includes("json")
    ? (parseJson(body) ?? {})
    : Object.fromEntries(new URLSearchParams(body));
  if (typeof args.metadata === "string") args.metadata = parseJson(args.metadata);
  if (typeof args.blocks === "string") args.blocks = parseJson(args.blocks);
  return args;
}

/** Starts the fake. */
export async function startFakeSlack(opts: FakeSlackOptions): Promise<FakeSlack> {
  const calls: FakeSlackCall[] = [];
  const posts: FakeSlackPost[] = [];
  const reactions = new Set<string>();
  const reactionsAdded: string[] = [];
  const updates: FakeSlack["updates"] = [];
  const ephemerals: FakeSlack["ephemerals"] = [];
  let version = 0;
  const changed = new CountWaiter(() => version);
  const failures = new Map<string, { status: number; error: string }>();
  let holdMethod: string | undefined;
  let onHeld: ((c: FakeSlackCall) => void) | undefined;
  let held: (() => void) | undefined;
  let seq = 0;
  const postWaiter = new CountWaiter(() => posts.length);
  const files = new Map<string, { name: string; mimetype: string; bytes: Buffer }>();
  const pendingUploads = new Map<string, { filename: string; bytes?: Buffer }>();
  const uploads: FakeSlack["uploads"] = [];
  const downloads: string[] = [];
  let base = "";

  const nextTs = () => {
    seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(seq).padStart(6, "0")}`;
  };
  const visible = (p: FakeSlackPost, withMeta: boolean) => {
    const { metadata, ...rest } = p;
    return {
      type: "message",
      user: opts.botUserId,
      bot_id: "B0FAKE",
      ...rest,
      ...(withMeta && metadata ? { metadata } : {}),
    };
  };
  const page = (list: FakeSlackPost[], a: Record<string, any>) => {
    const limit = Math.max(1, Math.min(Number(a.limit) || 100, 1000));
    const from = Number(a.cursor) || 0;
    const withMeta = a.include_all_metadata === true || a.include_all_metadata === "true";
    const slice = list.slice(from, from + limit).map((p) => visible(p, withMeta));
    const next = from + limit < list.length ? String(from + limit) : "";
    return {
      ok: true,
      messages: slice,
      has_more: next !== "",
      response_metadata: { next_cursor: next },
    };
  };

  function answer(method: string, a: Record<string, any>): Record<string, unknown> {
    switch (method) {
      case "auth.test":
        return {
          ok: true,
          url: "https://fake.slack.invalid/",
          team: "Fake",
          user: "switchyard",
          team_id: opts.teamId,
          user_id: opts.botUserId,
          bot_id: "B0FAKE",
        };
      case "chat.postMessage": {
        if (!a.channel) return { ok: false, error: "channel_not_found" };
        if (!a.text) return { ok: false, error: "no_text" };
        const post: FakeSlackPost = {
          channel: a.channel,
          ts: nextTs(),
          text: a.text,
          ...(Array.isArray(a.blocks) ? { blocks: a.blocks } : {}),
          ...(a.thread_ts ? { thread_ts: a.thread_ts } : {}),
          ...(a.username ? { username: a.username } : {}),
          ...(a.icon_url ? { icon_url: a.icon_url } : {}),
          ...(a.metadata ? { metadata: a.metadata } : {}),
        };
        posts.push(post);
        postWaiter.notify();
        return { ok: true, channel: post.channel, ts: post.ts, message: visible(post, false) };
      }
      case "conversations.replies": {
        if (!a.channel || !a.ts) return { ok: false, error: "thread_not_found" };
        const list = posts.filter(
          (p) => p.channel === a.channel && (p.ts === a.ts || p.thread_ts === a.ts),
        );
        return page(list, a);
      }
      case "conversations.history": {
        if (!a.channel) return { ok: false, error: "channel_not_found" };
        const list = posts.filter((p) => p.channel === a.channel && !p.thread_ts).reverse();
        return page(list, a);
      }
      case "files.info": {
        const f = files.get(String(a.file));
        if (!f) return { ok: false, error: "file_not_found" };
        return {
          ok: true,
          file: {
            id: a.file,
            name: f.name,
            mimetype: f.mimetype,
            size: f.bytes.length,
            url_private: `${base}/files-pri/${a.file}/${encodeURIComponent(f.name)}`,
            url_private_download: `${base}/files-pri/${a.file}/download/${encodeURIComponent(f.name)}`,
          },
        };
      }
      case "files.getUploadURLExternal": {
        if (!a.filename || !(Number(a.length) > 0))
          return { ok: false, error: "invalid_arguments" };
        const id = `F${nextTs().replace(".", "")}`;
        pendingUploads.set(id, { filename: String(a.filename) });
        return { ok: true, upload_url: `${base}/upload/${id}`, file_id: id };
      }
      case "files.completeUploadExternal": {
        const list = typeof a.files === "string" ? parseJson(a.files) : a.files;
        for (const f of Array.isArray(list) ? list : []) {
          const p = pendingUploads.get(String(f.id));
          if (!p?.bytes) return { ok: false, error: "file_not_found" };
          pendingUploads.delete(String(f.id));
          uploads.push({
            id: String(f.id),
            filename: p.filename,
            ...(f.title ? { title: String(f.title) } : {}),
            channel: String(a.channel_id),
            ...(a.thread_ts ? { thread_ts: String(a.thread_ts) } : {}),
            bytes: p.bytes,
          });
        }
        return { ok: true, files: list };
      }
      case "reactions.add":
      case "reactions.remove": {
        if (!a.channel || !a.timestamp || !a.name) return { ok: false, error: "invalid_arguments" };
        const key = `${a.channel}/${a.timestamp}/${a.name}`;
        if (method === "reactions.add") {
          if (reactions.has(key)) return { ok: false, error: "already_reacted" };
          reactions.add(key);
          reactionsAdded.push(key);
        } else {
          if (!reactions.delete(key)) return { ok: false, error: "no_reaction" };
        }
        return { ok: true };
      }
      case "chat.update": {
        const post = posts.find((p) => p.channel === a.channel && p.ts === a.ts);
        if (!post) return { ok: false, error: "message_not_found" };
        if (!a.text && !Array.isArray(a.blocks)) return { ok: false, error: "no_text" };
        post.text = a.text ?? "";
        if (Array.isArray(a.blocks)) post.blocks = a.blocks;
        else delete post.blocks;
        updates.push({
          channel: post.channel,
          ts: post.ts,
          text: post.text,
          ...(post.blocks ? { blocks: post.blocks } : {}),
        });
        return { ok: true, channel: post.channel, ts: post.ts, text: post.text };
      }
      case "chat.postEphemeral": {
        if (!a.channel || !a.user) return { ok: false, error: "user_not_in_channel" };
        if (!a.text) return { ok: false, error: "no_text" };
        ephemerals.push({
          channel: a.channel,
          user: a.user,
          text: a.text,
          ...(a.thread_ts ? { thread_ts: a.thread_ts } : {}),
        });
        return { ok: true, message_ts: nextTs() };
      }
      default:
        return { ok: false, error: "unknown_method" };
    }
  }

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const path = (req.url ?? "").split("?")[0]!;
    const upload = /^\/upload\/([A-Z0-9]+)$/.exec(path);
    if (upload && req.method === "POST") {
      const p = pendingUploads.get(upload[1]!);
      if (!p) return sendJson(res, 404, { ok: false });
      p.bytes = raw;
      res.writeHead(200, { "content-type": "text/plain" }).end(`OK - ${raw.length}`);
      return;
    }
    const download = /^\/files-pri\/([^/]+)\//.exec(path);
    if (download && req.method === "GET") {
      const f = files.get(download[1]!);
      if (!f || req.headers.authorization !== `Bearer ${opts.token}`) {
        // Slack answers an HTML sign-in page, not the file, without a valid token.
        res.writeHead(302, { location: "/signin" }).end();
        return;
      }
      downloads.push(download[1]!);
      res.writeHead(200, { "content-type": f.mimetype }).end(f.bytes);
      return;
    }
    const body = raw.toString("utf8");
    const method = (req.url ?? "").replace(/^\/api\//, "").split("?")[0]!;
    const call: FakeSlackCall = { method, headers: req.headers, args: argsOf(req, body) };
    calls.push(call);
    const failing = failures.get(method);
    if (failing !== undefined) {
      failures.delete(method);
      return sendJson(res, failing.status, { ok: false, error: failing.error });
    }
    if (req.headers.authorization !== `Bearer ${opts.token}`) {
      return sendJson(res, 200, { ok: false, error: "invalid_auth" });
    }
    const out = answer(method, call.args);
    version++;
    changed.notify();
    if (holdMethod === method) {
      holdMethod = undefined;
      held = () => sendJson(res, 200, out);
      onHeld?.(call);
      return;
    }
    sendJson(res, 200, out);
  };
  const server = await startLocalServer((req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: "fake_crashed" });
    });
  });

  base = server.url;
  return {
    apiUrl: `${server.url}/api/`,
    calls,
    posts,
    uploads,
    downloads,
    addFile(id, name, mimetype, bytes) {
      files.set(id, { name, mimetype, bytes });
    },
    reactions,
    reactionsAdded,
    updates,
    ephemerals,
    async waitFor(pred, timeoutMs = 10_000, what = "a condition") {
      const until = Date.now() + timeoutMs;
      while (!pred()) {
        const left = until - Date.now();
        if (left <= 0) throw new Error(`fake Slack: timed out waiting for ${what}`);
        await changed.wait(version + 1, left, () => new Error("timeout")).catch(() => {});
      }
    },
    failNext(method, status, error = "fake_failure") {
      failures.set(method, { status, error });
    },
    holdNext(method) {
      holdMethod = method;
      return new Promise((resolve) => {
        onHeld = resolve;
      });
    },
    release() {
      const h = held;
      held = undefined;
      h?.();
    },
    async waitForPosts(n, timeoutMs = 10_000) {
      await postWaiter.wait(
        n,
        timeoutMs,
        () => new Error(`fake Slack: ${posts.length} of ${n} posts after ${timeoutMs} ms`),
      );
      return posts.slice();
    },
    reset() {
      calls.length = 0;
      posts.length = 0;
      reactions.clear();
      reactionsAdded.length = 0;
      updates.length = 0;
      ephemerals.length = 0;
      failures.clear();
      holdMethod = undefined;
      held = undefined;
    },
    close: () => server.close(),
  };
}
