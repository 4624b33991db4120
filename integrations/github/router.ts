/**
 * `POST /integrations/github/webhook` (auth "self": the route verifies GitHub's signature).
 *
 * Order (../shared/REFERENCE.md "Inbound"): signature over the raw bytes → parse → ping →
 * filters → dedupe and persist → acknowledge. GitHub does not retry a failed delivery on
 * its own and gives up after 10 s, so the answer comes as soon as the message and its
 * task are committed; the agent runs afterwards.
 * (https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks)
 *
 * Answers (JSON):
 * - 401 `{detail}`: no secret configured (fail closed), or a missing, duplicated,
 *   malformed or wrong X-Hub-Signature-256; nothing is stored, the reason is logged.
 * - 400 `{detail}`: no X-GitHub-Event; a body that is not a JSON object; a handled event
 *   without X-GitHub-Delivery (it is the dedupe key; GitHub always sends it).
 * - 200 `{status: "pong"}` for `ping`.
 * - 200 `{status: "ignored", reason: "bot_self"}`: sent by GITHUB_BOT_LOGIN, or a comment
 *   that carries this integration's marker (posted by the bot itself).
 * - 200 `{status: "ignored", reason: "repo_not_allowed", event}`: outside GITHUB_REPO_ALLOWLIST.
 * - 200 `{status: "ignored", event}`: an event or action that is not handled.
 * - 200 `{status: "duplicate"}`: this X-GitHub-Delivery was accepted before.
 * - 200 `{status: "processed", event, task_id}`.
 * - 500 `{detail}`: GITHUB_BOT_ID names no bot (nothing is stored).
 *
 * The route parses its own bodies: within this plugin every content type is read as raw
 * bytes (Fastify parsers are encapsulated per plugin), so a malformed body is only looked
 * at after its signature passed, and GitHub's form-encoded content type works too.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { IntegrationContext, RouterDefinition } from "switchyard";
import { repoAllowed } from "./_api.ts";
import { classifyEvent, clientIdOf } from "./_events.ts";
import { hasMarker } from "./_text.ts";
import { parsePayload, verifySignature } from "./_verify.ts";

/** Longest accepted X-GitHub-Delivery, in characters (GitHub sends a 36-character GUID). */
const MAX_DELIVERY_ID = 200;

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === "string" && v.trim() ? v.trim() : undefined;
};

/** Whether the event was sent by the bot itself (its login, or a comment it posted). */
function fromBot(ctx: IntegrationContext, payload: Record<string, any>): boolean {
  const login = ctx.settings.GITHUB_BOT_LOGIN?.trim().toLowerCase();
  const sender = typeof payload.sender?.login === "string" ? payload.sender.login : "";
  if (login && sender.toLowerCase() === login) return true;
  return hasMarker(payload.comment?.body) || hasMarker(payload.review?.body);
}

const router: RouterDefinition = async (app, ctx) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (req, body, done) => {
    req.rawBody = body as Buffer;
    done(null, undefined);
  });

  const refuse = (reply: FastifyReply, reason: string, delivery: string | undefined) => {
    ctx.log.warn({ reason, delivery: delivery?.slice(0, 100) }, "github webhook refused");
    return reply.code(401).send({ detail: "Unauthorized" });
  };

  app.post("/webhook", { config: { auth: "self" } }, async (req, reply) => {
    const delivery = header(req, "x-github-delivery");
    const secret = ctx.settings.GITHUB_WEBHOOK_SECRET;
    if (!secret) return refuse(reply, "GITHUB_WEBHOOK_SECRET is not set", delivery);
    const checked = verifySignature(
      ctx.verify,
      secret,
      req.rawBody,
      req.headers["x-hub-signature-256"],
    );
    if (!checked.ok) return refuse(reply, checked.reason, delivery);

    const event = header(req, "x-github-event");
    if (!event) return reply.code(400).send({ detail: "Missing X-GitHub-Event header" });
    const payload = parsePayload(checked.text, header(req, "content-type"));
    if (!payload) return reply.code(400).send({ detail: "Body is not a JSON object" });
    if (event === "ping") return { status: "pong" };
    if (fromBot(ctx, payload)) return { status: "ignored", reason: "bot_self" };

    const handled = classifyEvent(event, payload, `integrations/${ctx.name}/github`);
    if (!handled) return { status: "ignored", event };
    if (!repoAllowed(ctx.settings, handled.repo)) {
      ctx.log.warn(
        { repo: handled.repo.full, event, delivery: delivery ?? null },
        "github event refused: repository not in GITHUB_REPO_ALLOWLIST",
      );
      return { status: "ignored", reason: "repo_not_allowed", event };
    }
    if (!delivery || delivery.length > MAX_DELIVERY_ID) {
      return reply.code(400).send({ detail: "Missing or invalid X-GitHub-Delivery header" });
    }

    const botId = ctx.settings.GITHUB_BOT_ID?.trim() || "default";
    let sessionId: string;
    try {
      ({ sessionId } = await ctx.getOrCreateSession(clientIdOf(handled.repo), { botId }));
    } catch (err) {
      if ((err as Error)?.name !== "UnknownBotError") throw err;
      ctx.log.error({ bot_id: botId }, "github webhook refused: GITHUB_BOT_ID names no bot");
      return reply.code(500).send({ detail: "GITHUB_BOT_ID names no bot" });
    }
    const injected = await ctx.injectMessage(sessionId, handled.content, {
      runAgent: true,
      dedupeKey: delivery,
      executionConfig: handled.executionConfig,
      dispatch: { type: ctx.name, repo: handled.repo.full, number: handled.number },
      metadata: { github: { ...handled.metadata, delivery } },
    });
    if (injected.duplicate) return { status: "duplicate" };
    ctx.log.info(
      {
        event,
        delivery,
        repo: handled.repo.full,
        number: handled.number,
        task_id: injected.taskId,
      },
      "github event accepted",
    );
    return { status: "processed", event, task_id: injected.taskId };
  });
};

export default router;
