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
 *
 * Approvals (issue 13): a tool call waiting for a person is POSTed the same way as
 * `{type: "approval_request", conversation, thread?, task_id, approval: {id, tool, args,
 * status, expires_at}, answer: {path, decisions}}`; the receiver answers with a signed
 * `POST /integrations/webhook/approval` (same secret and headers as `/in`) of
 * `{approval_id, decision: "approve" | "deny", reason?, conversation, thread?, user: {id,
 * name?}}`: 200 `{outcome: "decided", approval}`, 409 `{outcome: "already_decided",
 * approval}` (the first decision), 403 (another conversation), 404, 400, 401, 503. The
 * decision, whoever made it, is POSTed as `{type: "approval_decided", …, approval,
 * request_post}` where `request_post` is the request's `webhook-id`.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type {
  Adapter,
  AdapterDefinition,
  AdapterHandler,
  AdapterOutput,
  AdapterTarget,
  ApprovalDecider,
  ApprovalView,
  IntegrationContext,
} from "switchyard";

/** Where decisions come back, under the integration's mount. */
const APPROVAL_PATH = "/integrations/webhook/approval";

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

type Decision = {
  approval_id: string;
  decision: "approve" | "deny";
  reason?: string;
  conversation: string;
  thread?: string;
  user: { id: string; name?: string };
};

/** A decision body, when it has the documented shape; else undefined. */
function parseDecision(text: string): Decision | undefined {
  let v: any;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  if (!isId(v.approval_id) || !isId(v.conversation)) return undefined;
  if (v.decision !== "approve" && v.decision !== "deny") return undefined;
  if (v.reason !== undefined && (typeof v.reason !== "string" || v.reason.length > 2000)) {
    return undefined;
  }
  if (v.thread !== undefined && !isId(v.thread)) return undefined;
  if (!v.user || typeof v.user !== "object" || !isId(v.user.id)) return undefined;
  return v as Decision;
}

/** Where a message or decision came from, as the adapter host names a conversation. */
const conversationOf = (b: { conversation: string; thread?: string | undefined }) => ({
  channel: b.conversation,
  ...(b.thread ? { thread: b.thread } : {}),
});

/** Answers 503: the adapter has not started (or has stopped). */
const notRunning = (reply: FastifyReply) =>
  reply.code(503).send({ detail: "The webhook adapter is not running" });

/** An approval as the callback shows it (snake_case, ISO 8601). */
function approvalJson(a: ApprovalView) {
  return {
    id: a.id,
    task_id: a.taskId,
    tool: a.tool,
    args: a.args,
    status: a.status,
    expires_at: new Date(a.expiresAt).toISOString(),
    ...(a.decidedBy ? { decided_by: a.decidedBy } : {}),
    ...(a.reason ? { reason: a.reason } : {}),
  };
}

/** What an output posts besides its conversation (`text` for text-like outputs). */
function outputBody(output: Exclude<AdapterOutput, { kind: "progress" }>) {
  if (output.kind === "approval_request") {
    return {
      type: "approval_request",
      approval: approvalJson(output.approval),
      answer: { path: APPROVAL_PATH, decisions: ["approve", "deny"] },
    };
  }
  if (output.kind === "approval_decided") {
    return {
      type: "approval_decided",
      approval: approvalJson(output.approval),
      request_post: output.requestPost ?? null,
    };
  }
  // The receiver's contract carries text only: a file is named, not uploaded.
  if (output.kind === "file") {
    const f = output.file;
    return { text: `[File: ${f.name} (${f.mediaType}, ${f.bytes} bytes)]` };
  }
  return { text: output.text };
}

const adapter: AdapterDefinition = (ctx: IntegrationContext): Adapter => {
  let handler: AdapterHandler | undefined;
  let decide: ApprovalDecider | undefined;

  async function post(target: AdapterTarget, fields: Record<string, unknown>): Promise<void> {
    const url = ctx.settings.WEBHOOK_ADAPTER_CALLBACK_URL;
    const secret = ctx.settings.WEBHOOK_ADAPTER_SECRET;
    if (!url || !secret) {
      throw new ctx.errors.DeliveryError("WEBHOOK_ADAPTER_CALLBACK_URL or _SECRET is not set");
    }
    const body = JSON.stringify({
      conversation: target.conversation.channel,
      ...(target.conversation.thread ? { thread: target.conversation.thread } : {}),
      reply_to: target.replyTo ?? null,
      ...fields,
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
      /** The verified body text, or undefined after answering 401. */
      const verified = (req: FastifyRequest, reply: FastifyReply) => {
        const secret = ctx.settings.WEBHOOK_ADAPTER_SECRET;
        const id = header(req.headers["webhook-id"]);
        if (!secret) {
          reply.code(401).send({ detail: "Unauthorized" });
          return undefined;
        }
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
          reply.code(401).send({ detail: "Unauthorized" });
          return undefined;
        }
        return { id, text: checked.text };
      };
      app.post("/approval", { config: { auth: "self" } }, async (req, reply) => {
        const v = verified(req, reply);
        if (!v) return reply;
        const body = parseDecision(v.text);
        if (!body) {
          return reply.code(400).send({
            detail:
              'Body must be {approval_id, decision: "approve" | "deny", reason?, conversation, thread?, user: {id, name?}}',
          });
        }
        if (!decide) return notRunning(reply);
        try {
          const r = await decide({
            approvalId: body.approval_id,
            decision: body.decision,
            ...(body.reason ? { reason: body.reason } : {}),
            conversation: conversationOf(body),
            actor: { id: body.user.id, displayName: body.user.name, isBot: false },
          });
          const status = { decided: 200, already_decided: 409, not_found: 404, forbidden: 403 }[
            r.outcome
          ];
          return reply.code(status).send({
            outcome: r.outcome,
            ...(r.approval && r.outcome !== "forbidden"
              ? { approval: approvalJson(r.approval) }
              : {}),
          });
        } catch (err) {
          if ((err as Error)?.name === "AdapterNotRunningError") return notRunning(reply);
          throw err;
        }
      });
      app.post("/in", { config: { auth: "self" } }, async (req, reply) => {
        const v = verified(req, reply);
        if (!v) return reply;
        const id = v.id;
        const body = parseBody(v.text);
        if (!body) {
          return reply.code(400).send({
            detail:
              "Body must be {conversation, user: {id, name?, is_bot?}, text, thread?, group?, mentioned?}",
          });
        }
        if (!handler) return notRunning(reply);
        try {
          const r = await handler({
            conversation: conversationOf(body),
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
          if (name === "AdapterNotRunningError") return notRunning(reply);
          if (name === "InvalidInputError") {
            return reply.code(400).send({ detail: (err as Error).message });
          }
          throw err;
        }
      });
    },
    async start(opts) {
      handler = opts.handler;
      decide = opts.decide;
    },
    async send(target, output) {
      if (output.kind === "progress") return;
      await post(target, outputBody(output));
      // The request's webhook-id names it in the later `approval_decided`.
      if (output.kind === "approval_request") return { postId: target.deliveryId };
    },
    async stop() {
      handler = undefined;
      decide = undefined;
    },
  };
};

export default adapter;
