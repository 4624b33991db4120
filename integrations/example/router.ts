/**
 * Routes under /integrations/example/. Every route states its auth in `config.auth`:
 * - POST /webhook verifies its caller itself ("self"): HMAC-SHA256 of the raw body with
 *   EXAMPLE_WEBHOOK_SECRET, lower-case hex, in X-Example-Signature, checked by
 *   `ctx.verify.hmac` (constant-time compare over the exact bytes received); then
 *   the message goes to the session `example:<client_id>` and the agent runs after the
 *   response, its answer delivered by this integration's dispatcher.
 * - GET /events needs the server's API key with the admin scope.
 */
import type { IntegrationContext, RouterDefinition } from "switchyard";
import { seenEvents } from "./_events.ts";

const router: RouterDefinition = async (app, ctx: IntegrationContext) => {
  app.post("/webhook", { config: { auth: "self" } }, async (req, reply) => {
    const secret = ctx.settings.EXAMPLE_WEBHOOK_SECRET;
    if (!secret) {
      ctx.log.warn({}, "webhook refused: EXAMPLE_WEBHOOK_SECRET is not set");
      return reply.code(401).send({ detail: "Unauthorized" });
    }
    const checked = ctx.verify.hmac({
      secret,
      body: req.rawBody,
      signature: req.headers["x-example-signature"],
      headerName: "X-Example-Signature",
    });
    if (!checked.ok) {
      ctx.log.warn({ reason: checked.reason }, "webhook refused");
      return reply.code(401).send({ detail: "Unauthorized" });
    }
    const body = req.body as { client_id?: unknown; text?: unknown } | undefined;
    if (typeof body?.client_id !== "string" || typeof body.text !== "string" || !body.text) {
      return reply.code(400).send({ detail: "Expected {client_id: string, text: string}" });
    }
    const { sessionId } = await ctx.getOrCreateSession(`example:${body.client_id}`);
    const { taskId } = await ctx.injectMessage(sessionId, body.text, {
      runAgent: true,
      dispatch: { type: "example", channel: body.client_id },
      executionConfig: { tools: ["example_greet"] },
    });
    return { status: "processed", task_id: taskId };
  });

  app.get("/events", { config: { auth: "admin" } }, async () => seenEvents);
};

export default router;
