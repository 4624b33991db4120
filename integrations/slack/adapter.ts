/**
 * The Slack chat adapter (`slack`): Slack's Events API in, the Web API out.
 *
 * In: `POST /integrations/slack/events` (the app's Request URL). Each request is verified
 * over its raw bytes before anything else: `X-Slack-Signature: v0=<hex HMAC-SHA256 of
 * "v0:{X-Slack-Request-Timestamp}:{body}">` with `SLACK_SIGNING_SECRET`, the timestamp
 * within 300 s of now (https://api.slack.com/authentication/verifying-requests-from-slack).
 * Answers:
 * - 401 `{detail}`: no secret configured, a missing, wrong or stale signature (nothing stored);
 * - 400 `{detail}`: not JSON;
 * - 200 `{challenge}`: a `url_verification` (https://api.slack.com/events/url_verification);
 * - 503 `{detail}`: the adapter is not running (Slack retries);
 * - 200 `{ok, status}` once the message and its task are committed (`status` is the
 *   handler's outcome, or `skipped`). Slack wants an answer within 3 s; the turn runs later.
 * A Slack retry (`X-Slack-Retry-Num`) of an event carries the same `event_id`, the dedupe
 * key: it answers 200 `duplicate` and stores nothing. See ./_events.ts for which events
 * count and how they map to conversations (`{team, channel, thread}`).
 *
 * The bot's own Slack user id (to ignore its own messages) is the event's
 * `authorizations[].user_id`, else the one `auth.test` gave at start. `SLACK_BOT_ID` is
 * not that: it names the switchyard bot that answers.
 *
 * Out (only from the outbox): `chat.postMessage` in the conversation's thread
 * (`thread_ts`), the text escaped for mrkdwn, with message metadata
 * `{event_type: "switchyard_reply", event_payload: {delivery_id}}` so `findOwnPost` can
 * tell whether a post whose outcome was lost went through, and the bot's `username` /
 * `icon_url` from `target.identity.extras` (hooks.ts). Progress is an
 * `hourglass_flowing_sand` reaction on the user's message (`reactions.add` at start,
 * `reactions.remove` at clear).
 *
 * Approvals (./_approval.ts): `approval_request` is posted with Approve/Deny buttons and
 * `send` returns `<channel>:<ts>`; a press arrives at `POST /integrations/slack/interactions`
 * (the app's Interactivity Request URL: form-encoded `payload`, the same v0 signature
 * check; ./_interactions.ts), is answered 200 at once (Slack wants 3 s) and then decided
 * through `decide`; a press that resolved nothing is answered to the presser alone
 * (`chat.postEphemeral`). `approval_decided` updates the request post (`chat.update`), its
 * buttons replaced by the decision.
 *
 * Files (https://api.slack.com/messaging/files): an inbound message's `files` are passed by
 * id; the host asks `attachmentSource`, which reads `files.info` and hands back
 * `url_private_download` with the bot token as a Bearer header. A reply's files are
 * uploaded with `files.getUploadURLExternal`, a POST of the bytes to its `upload_url`, and
 * `files.completeUploadExternal` into the conversation's channel and thread.
 */
import type {
  Adapter,
  AdapterDefinition,
  AdapterHandler,
  AdapterSendResult,
  AdapterTarget,
  ApprovalDecider,
  ApprovalView,
  IntegrationContext,
  OutboundFile,
} from "switchyard";
import { slackErrorCode, toDeliveryError, webClient } from "./_api.ts";
import {
  decisionText,
  outcomeText,
  parsePostId,
  postIdOf,
  requestBlocks,
  requestText,
} from "./_approval.ts";
import { botUserIdOf, type SlackEnvelope, toInput } from "./_events.ts";
import { decisionOf, payloadOf, type SlackDecision } from "./_interactions.ts";
import { escapeMrkdwn } from "./_text.ts";
import { verifySlackRequest } from "./_verify.ts";

/**
 * Longest text of one post, in characters. Slack advises at most 4,000 characters in
 * `text` and truncates past 40,000 (https://api.slack.com/methods/chat.postMessage#truncating);
 * 3,000 leaves room for the `&amp;`/`&lt;`/`&gt;` escapes added after the split.
 */
export const SLACK_MAX_TEXT = 3000;

/** The metadata event type marking switchyard's posts (https://api.slack.com/metadata). */
export const REPLY_EVENT_TYPE = "switchyard_reply";

/** The progress reaction. */
const PROGRESS_REACTION = "hourglass_flowing_sand";

/** Pages of history or replies read when looking for an earlier post. */
const FIND_PAGES = 5;

const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

/** Whether a message's metadata marks it as the post of `deliveryId`. */
function isOwnPost(message: unknown, deliveryId: string): boolean {
  const md = (message as { metadata?: { event_type?: unknown; event_payload?: any } })?.metadata;
  return md?.event_type === REPLY_EVENT_TYPE && md.event_payload?.delivery_id === deliveryId;
}

const adapter: AdapterDefinition = (ctx: IntegrationContext): Adapter => {
  let handler: AdapterHandler | undefined;
  let decide: ApprovalDecider | undefined;
  /** The bot's Slack user id from `auth.test`, when start got one. */
  let authUserId: string | undefined;

  /** Posts text (or an approval request with its buttons); resolves with `<channel>:<ts>`. */
  async function post(
    target: AdapterTarget,
    text: string,
    blocks?: unknown[],
  ): Promise<AdapterSendResult> {
    const client = webClient(ctx, target.signal);
    const extras = target.identity?.extras ?? {};
    const username = str(extras.username);
    const iconUrl = str(extras.icon_url);
    try {
      const res = await client.chat.postMessage({
        channel: target.conversation.channel,
        ...(target.conversation.thread ? { thread_ts: target.conversation.thread } : {}),
        text,
        ...(blocks ? { blocks: blocks as any[] } : {}),
        ...(username ? { username } : {}),
        ...(iconUrl ? { icon_url: iconUrl } : {}),
        metadata: {
          event_type: REPLY_EVENT_TYPE,
          event_payload: { delivery_id: target.deliveryId },
        },
      });
      const ts = str(res.ts);
      return ts ? { postId: postIdOf(str(res.channel) ?? target.conversation.channel, ts) } : {};
    } catch (err) {
      throw toDeliveryError(ctx, "chat.postMessage", err);
    }
  }

  /**
   * Shows a decision: the request post (`requestPost`) is updated, its buttons replaced by
   * the decision text (`chat.update`, safe to repeat); without a usable post id the
   * decision is posted.
   */
  async function showDecision(
    target: AdapterTarget,
    approval: ApprovalView,
    requestPost: string | undefined,
  ): Promise<AdapterSendResult | undefined> {
    const text = decisionText(approval);
    const where = requestPost ? parsePostId(requestPost, target.conversation.channel) : undefined;
    if (!where) return post(target, text);
    try {
      await webClient(ctx, target.signal).chat.update({
        channel: where.channel,
        ts: where.ts,
        text,
        blocks: [{ type: "section", text: { type: "mrkdwn", text } }],
      });
    } catch (err) {
      throw toDeliveryError(ctx, "chat.update", err);
    }
    return undefined;
  }

  /** Decides a pressed button and tells the presser when it did not resolve the approval. */
  async function decidePressed(d: SlackDecision, decideFn: ApprovalDecider): Promise<void> {
    let outcome: Parameters<typeof outcomeText>[0] = "error";
    let approval: ApprovalView | undefined;
    try {
      const r = await decideFn(d.input);
      outcome = r.outcome;
      approval = r.approval;
    } catch (err) {
      ctx.log.warn({ err: (err as Error)?.message }, "slack approval decision failed");
    }
    ctx.log.info(
      { approval_id: d.input.approvalId, decision: d.input.decision, outcome },
      "slack approval button",
    );
    const text = outcomeText(outcome, approval);
    if (!text) return;
    const { channel, thread } = d.input.conversation;
    try {
      await webClient(ctx).chat.postEphemeral({
        channel,
        user: d.user,
        text,
        ...(thread ? { thread_ts: thread } : {}),
      });
    } catch (err) {
      ctx.log.warn(
        { err: toDeliveryError(ctx, "chat.postEphemeral", err).message },
        "slack approval answer not sent",
      );
    }
  }

  /** Uploads one file of a reply into the conversation (and thread). */
  async function upload(target: AdapterTarget, file: OutboundFile): Promise<void> {
    const client = webClient(ctx, target.signal);
    const chunks: Uint8Array[] = [];
    for await (const c of file.data()) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    let step = "files.getUploadURLExternal";
    try {
      const got = await client.files.getUploadURLExternal({
        filename: file.name,
        length: bytes.length,
      });
      if (!got.upload_url || !got.file_id) throw new Error("no upload_url");
      step = "file upload";
      const res = await ctx.http.request("POST", got.upload_url, {
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(bytes),
        retries: 0,
        signal: target.signal,
      });
      if (!res.ok) throw ctx.errors.fromResult(res, "file upload")!;
      step = "files.completeUploadExternal";
      await client.files.completeUploadExternal({
        files: [{ id: got.file_id, title: file.name }],
        channel_id: target.conversation.channel,
        ...(target.conversation.thread ? { thread_ts: target.conversation.thread } : {}),
      });
    } catch (err) {
      throw toDeliveryError(ctx, step, err);
    }
  }

  async function progress(target: AdapterTarget, state: "start" | "clear") {
    if (!target.replyTo) return;
    const client = webClient(ctx, target.signal);
    const args = {
      channel: target.conversation.channel,
      timestamp: target.replyTo,
      name: PROGRESS_REACTION,
    };
    try {
      if (state === "start") await client.reactions.add(args);
      else await client.reactions.remove(args);
    } catch (err) {
      const code = slackErrorCode(err);
      if (code === "already_reacted" || code === "no_reaction") return;
      throw toDeliveryError(ctx, `reactions.${state === "start" ? "add" : "remove"}`, err);
    }
  }

  return {
    name: "slack",
    kind: "slack",
    maxTextLength: SLACK_MAX_TEXT,
    routes: async (app) => {
      app.removeAllContentTypeParsers();
      app.addContentTypeParser("*", { parseAs: "buffer" }, (req, body, done) => {
        req.rawBody = body as Buffer;
        done(null, undefined);
      });
      app.post("/events", { config: { auth: "self" } }, async (req, reply) => {
        const checked = verifySlackRequest(ctx, req.headers, req.rawBody);
        if (!checked.ok) {
          ctx.log.warn({ reason: checked.reason }, "slack event refused");
          return reply.code(401).send({ detail: "Unauthorized" });
        }
        let env: SlackEnvelope & { challenge?: unknown };
        try {
          env = JSON.parse(checked.text);
        } catch {
          return reply.code(400).send({ detail: "Body must be a Slack Events API JSON payload" });
        }
        if (!env || typeof env !== "object" || Array.isArray(env)) {
          return reply.code(400).send({ detail: "Body must be a Slack Events API JSON payload" });
        }
        if (env.type === "url_verification") {
          return { challenge: typeof env.challenge === "string" ? env.challenge : "" };
        }
        if (env.type !== "event_callback") return { ok: true, status: "skipped" };
        if (!handler) return reply.code(503).send({ detail: "The Slack adapter is not running" });
        const input = toInput(env, botUserIdOf(env) ?? authUserId);
        if ("skip" in input) {
          ctx.log.debug({ reason: input.skip, event_id: env.event_id }, "slack event skipped");
          return { ok: true, status: "skipped" };
        }
        try {
          const r = await handler(input);
          return { ok: true, status: r.outcome, session_id: r.sessionId, task_id: r.taskId };
        } catch (err) {
          const name = (err as Error)?.name;
          if (name === "AdapterNotRunningError") {
            return reply.code(503).send({ detail: "The Slack adapter is not running" });
          }
          if (name === "InvalidInputError") {
            return reply.code(400).send({ detail: (err as Error).message });
          }
          throw err;
        }
      });
      app.post("/interactions", { config: { auth: "self" } }, async (req, reply) => {
        const checked = verifySlackRequest(ctx, req.headers, req.rawBody);
        if (!checked.ok) {
          ctx.log.warn({ reason: checked.reason }, "slack interaction refused");
          return reply.code(401).send({ detail: "Unauthorized" });
        }
        const payload = payloadOf(checked.text);
        if (!payload) {
          return reply
            .code(400)
            .send({ detail: "Body must be form-encoded with a Slack interaction `payload`" });
        }
        const d = decisionOf(payload);
        if ("skip" in d) {
          ctx.log.debug({ reason: d.skip }, "slack interaction skipped");
          return { ok: true, status: "skipped" };
        }
        const decideFn = decide;
        if (!decideFn) {
          return reply.code(503).send({ detail: "The Slack adapter is not running" });
        }
        // Slack wants the acknowledgement within 3 s: answer first, then decide. The
        // decision's outcome reaches the person as the updated post or an ephemeral note.
        reply.code(200).send({ ok: true, status: "accepted" });
        void decidePressed(d, decideFn);
        return reply;
      });
    },
    async start(opts) {
      // auth.test checks the token (a bad one fails the start, reported and retried) and
      // names the bot's own user, for events that carry no `authorizations`.
      try {
        const me = await webClient(ctx, opts.signal).auth.test();
        authUserId = str(me.user_id);
      } catch (err) {
        throw new Error(
          `Slack auth.test failed: ${toDeliveryError(ctx, "auth.test", err).message}`,
        );
      }
      handler = opts.handler;
      decide = opts.decide;
    },
    async send(target, output) {
      switch (output.kind) {
        case "progress":
          return progress(target, output.state);
        case "file":
          return upload(target, output.file);
        case "approval_request":
          return post(target, requestText(output.approval), requestBlocks(output.approval));
        case "approval_decided":
          return showDecision(target, output.approval, output.requestPost);
        default:
          return post(target, escapeMrkdwn(output.text));
      }
    },
    async findOwnPost(target) {
      const client = webClient(ctx, target.signal);
      const { channel, thread } = target.conversation;
      let cursor: string | undefined;
      try {
        for (let page = 0; page < FIND_PAGES; page++) {
          const args = {
            channel,
            include_all_metadata: true,
            limit: 200,
            ...(cursor ? { cursor } : {}),
          };
          const res = thread
            ? await client.conversations.replies({ ...args, ts: thread })
            : await client.conversations.history(args);
          if ((res.messages ?? []).some((m) => isOwnPost(m, target.deliveryId))) return true;
          cursor = str(res.response_metadata?.next_cursor);
          if (!cursor) return false;
        }
      } catch (err) {
        throw toDeliveryError(ctx, thread ? "conversations.replies" : "conversations.history", err);
      }
      return false;
    },
    async attachmentSource(ref, signal) {
      let file:
        | { url_private_download?: string; url_private?: string; name?: string; mimetype?: string }
        | undefined;
      try {
        file = (await webClient(ctx, signal).files.info({ file: ref.ref })).file;
      } catch (err) {
        throw new Error(toDeliveryError(ctx, "files.info", err).message);
      }
      const url = file?.url_private_download ?? file?.url_private;
      if (!url) throw new Error("files.info gave no url_private");
      return {
        url,
        headers: { authorization: `Bearer ${ctx.settings.SLACK_BOT_TOKEN ?? ""}` },
        ...(file?.name ? { name: file.name } : {}),
        ...(file?.mimetype ? { mediaType: file.mimetype } : {}),
      };
    },
    async stop() {
      handler = undefined;
      decide = undefined;
    },
  };
};

export default adapter;
