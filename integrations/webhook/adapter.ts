/**
 * The generic webhook chat adapter (`webhook-adapter`): any system can chat with a bot.
 *
 * In: `POST /integrations/webhook/in`, signed with Standard Webhooks
 * (https://www.standardwebhooks.com: `webhook-id`, `webhook-timestamp`, `webhook-signature`
 * over the raw body, 5 minutes' tolerance) with `WEBHOOK_ADAPTER_SECRET`. Body:
 * `{conversation, user: {id, name?, is_bot?}, text, thread?, group?, mentioned?}` —
 * `group: true` makes it a group conversation (a mention is then needed unless a channel row
 * says otherwise); `user.is_bot: true` marks the bot's own or another bot's message
 * (ignored). `webhook-id` is the dedupe key. Answers:
 * - 401 `{detail}`: no secret configured, or a missing, wrong or stale signature;
 * - 400 `{detail}`: not a JSON body of that shape;
 * - 503 `{detail}`: the adapter is not running (send again later);
 * - 200 `{status, session_id, task_id}`: `status` is the handler's outcome (`run`,
 *   `stored`, `ignored`, `new_session`, `duplicate`), after the commit.
 *
 * Out: each reply (and `[Error: …]`, and the notice after `/new`) is POSTed to
 * `WEBHOOK_ADAPTER_CALLBACK_URL` as `{conversation, thread?, reply_to, text, task_id}`,
 * signed with Standard Webhooks; `webhook-id` is stable across retries (one per part of a
 * split reply), so the receiver can drop repeats. Progress is not sent.
 */
import type {
  Adapter,
  AdapterDefinition,
  AdapterHandler,
  AdapterTarget,
  IntegrationContext,
} from "switchyard";

/** Longest conversation, thread and user id, in characters. */
const MAX_ID = 200;

type Body = {
  conversation: string;
  thread?: string;
  user: { id: string; name?: string; is_bot?: boolean };
  text: string;
  group?: boolean;
  mentioned?: boolean;
};

const isId = (v: unknown): v is string =>
  typeof v === "string" && v.length > 0 && v.length <= MAX_ID;

/** The body, when it has the documented shape; else undefined. */
function parseBody(text: string): Body | undefined {
  let v: any;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  if (!isId(v.conversation) || typeof v.text !== "string") return undefined;
  if (v.thread !== undefined && !isId(v.thread)) return undefined;
  const u = v.user;
  if (!u || typeof u !== "object" || !isId(u.id)) return undefined;
  if (u.name !== undefined && typeof u.name !== "string") return undefined;
  for (const flag of [u.is_bot, v.group, v.mentioned]) {
    if (flag !== undefined && typeof flag !== "boolean") return undefined;
  }
  return v as Body;
}

const header = (v: string | string[] | undefined) => (typeof v === "string" ? v : undefined);

const adapter: AdapterDefinition = (ctx: IntegrationContext): Adapter => {
  let handler: AdapterHandler | undefined;

  async function post(target: AdapterTarget, text: string): Promise<void> {
    const url = ctx.settings.WEBHOOK_ADAPTER_CALLBACK_URL;
    const secret = ctx.settings.WEBHOOK_ADAPTER_SECRET;
    if (!url || !secret) {
      throw new ctx.errors.DeliveryError("WEBHOOK_ADAPTER_CALLBACK_URL or _SECRET is not set");
    }
    const body = JSON.stringify({
      conversation: target.conversation.channel,
      ...(target.conversation.thread ? { thread: target.conversation.thread } : {}),
      reply_to: target.replyTo ?? null,
      text,
      task_id: target.taskId ?? null,
    });
    const res = await ctx.http.request("POST", url, {
      body,
      headers: { "content-type": "application/json" },
      headersForAttempt: () => ctx.sign.standardWebhooks(target.deliveryId, body, secret),
      signal: target.signal,
    });
    const err = ctx.errors.fromResult(res, "callback");
    if (err) throw err;
  }

  return {
    name: "webhook-adapter",
    kind: "webhook",
    get maxTextLength() {
      const n = Number(ctx.settings.WEBHOOK_ADAPTER_MAX_LENGTH);
      return Number.isInteger(n) && n >= 2 ? n : 4000;
    },
    routes: async (app) => {
      app.removeAllContentTypeParsers();
      app.addContentTypeParser("*", { parseAs: "buffer" }, (req, body, done) => {
        req.rawBody = body as Buffer;
        done(null, undefined);
      });
      app.post("/in", { config: { auth: "self" } }, async (req, reply) => {
        const secret = ctx.settings.WEBHOOK_ADAPTER_SECRET;
        const id = header(req.headers["webhook-id"]);
        if (!secret) return reply.code(401).send({ detail: "Unauthorized" });
        const checked = ctx.verify.standardWebhooks({
          secret,
          body: req.rawBody,
          headers: req.headers,
        });
        if (!checked.ok || !id) {
          ctx.log.warn(
            { reason: checked.ok ? "no webhook-id" : checked.reason },
            "webhook message refused",
          );
          return reply.code(401).send({ detail: "Unauthorized" });
        }
        const body = parseBody(checked.text);
        if (!body) {
          return reply.code(400).send({
            detail:
              "Body must be {conversation, user: {id, name?, is_bot?}, text, thread?, group?, mentioned?}",
          });
        }
        if (!handler) return reply.code(503).send({ detail: "The webhook adapter is not running" });
        try {
          const r = await handler({
            conversation: {
              channel: body.conversation,
              ...(body.thread ? { thread: body.thread } : {}),
            },
            author: {
              id: body.user.id,
              displayName: body.user.name,
              isBot: body.user.is_bot === true,
            },
            text: body.text,
            mentioned: body.mentioned === true,
            direct: body.group !== true,
            deliveryId: id,
          });
          return { status: r.outcome, session_id: r.sessionId, task_id: r.taskId };
        } catch (err) {
          const name = (err as Error)?.name;
          if (name === "AdapterNotRunningError") {
            return reply.code(503).send({ detail: "The webhook adapter is not running" });
          }
          if (name === "InvalidInputError") {
            return reply.code(400).send({ detail: (err as Error).message });
          }
          throw err;
        }
      });
    },
    async start(opts) {
      handler = opts.handler;
    },
    async send(target, output) {
      if (output.kind === "progress") return;
      if (output.kind === "approval_request" || output.kind === "approval_decided") {
        throw new Error("This adapter does not show approvals yet");
      }
      // The receiver's contract carries text only: a file is named, not uploaded.
      if (output.kind === "file") {
        const f = output.file;
        return post(target, `[File: ${f.name} (${f.mediaType}, ${f.bytes} bytes)]`);
      }
      await post(target, output.text);
    },
    async stop() {
      handler = undefined;
    },
  };
};

export default adapter;
