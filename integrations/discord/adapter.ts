/**
 * The Discord chat adapter (`discord`): people talk to a bot with slash commands.
 *
 * In: Discord's Interactions Endpoint, `POST /integrations/discord/interactions`
 * (https://discord.com/developers/docs/interactions/receiving-and-responding). Each request
 * is checked first (Ed25519 over timestamp + raw body with `DISCORD_PUBLIC_KEY`, timestamp
 * within 300 s: `_verify.ts`); a missing, wrong or stale signature gets 401 and nothing is
 * stored. Then:
 * - PING (type 1) → `{type: 1}` (PONG);
 * - `/ask prompt:<text>` → the handler (mentioned; direct when there is no guild; the
 *   interaction id is the dedupe key) → `{type: 5}`, a deferred response ("<bot> is
 *   thinking…"), which the reply later edits;
 * - `/new` → the handler with the text `/new` (a fresh session) → `{type: 5, data: {flags:
 *   64}}`, a deferred ephemeral response: the notice "Started a new session." then edits it,
 *   so only the person who asked sees it;
 * - a button pressed on an approval request (MESSAGE_COMPONENT, type 3) → decided through
 *   `decide` at once → `{type: 6}` (deferred update; the message is edited when the
 *   decision comes back as `approval_decided`), or an ephemeral note when it resolved
 *   nothing (already decided: the first decision; another channel: refused);
 * - another command or interaction type → a short ephemeral message (type 4).
 * 400 for a verified body that is not an interaction; 503 while the adapter is not running.
 *
 * The interaction token (a 15-minute capability) is kept in this process's memory only
 * (`_tokens.ts`), never in the handler input, the database, logs or the transcript.
 *
 * Out (`send`, called by the outbox only): while the token of the interaction answered
 * (`target.replyTo`) is in memory, the first part of a reply edits the deferred response
 * (`PATCH …/messages/@original`, safe to repeat) and further parts are follow-ups; else
 * (token expired, server restarted, or Discord refusing the token with 401/404) the part is
 * posted in the channel with the bot token, carrying a nonce from the delivery id with
 * `enforce_nonce` so a repeat within minutes is not posted twice. Text goes out as the model
 * wrote it (Discord renders its markdown); switchyard's own notices and `[Error: …]` are
 * escaped; `allowed_mentions: {parse: []}` always, so nothing pings. Progress `start` shows
 * typing in the channel only on the channel path (the deferred response already shows
 * "thinking"). `target.identity` is not used: an interaction's response and follow-ups
 * always show the application's name and avatar, and a bot's channel posts its own.
 * `approval_request` is always a channel message (bot token) with Approve/Deny buttons
 * (./_approval.ts), `send` returning its id; `approval_decided` edits that message to the
 * decision with its buttons removed.
 */
import type { FastifyReply } from "fastify";
import type {
  Adapter,
  AdapterDefinition,
  AdapterHandler,
  AdapterOutput,
  AdapterSendResult,
  AdapterTarget,
  ApprovalDecider,
  ApprovalDecisionResult,
  ApprovalView,
  Conversation,
  IntegrationContext,
} from "switchyard";
import {
  editChannelMessage,
  editOriginal,
  followUp,
  postToChannel,
  triggerTyping,
  uploadFile,
} from "./_api.ts";
import {
  CUSTOM_ID_RE,
  decisionText,
  outcomeText,
  requestComponents,
  requestText,
} from "./_approval.ts";
import { ASK_COMMAND, type Interaction, NEW_COMMAND, parseInteraction } from "./_interaction.ts";
import { PostedParts } from "./_posted.ts";
import { escapeMarkdown } from "./_text.ts";
import { InteractionTokens } from "./_tokens.ts";
import { verifyInteraction } from "./_verify.ts";

/** Discord's longest message content, characters (https://discord.com/developers/docs/resources/message#create-message). */
export const MAX_CONTENT_LENGTH = 2000;

/** Interaction response types and flags (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object). */
const PONG = 1;
const CHANNEL_MESSAGE = 4;
const DEFERRED_CHANNEL_MESSAGE = 5;
/** Acknowledges a component press, the message unchanged for now (it is edited later). */
const DEFERRED_UPDATE_MESSAGE = 6;
const EPHEMERAL = 64;

const ephemeral = (content: string) => ({
  type: CHANNEL_MESSAGE,
  data: { content, flags: EPHEMERAL },
});

/** A conversation's key in this adapter's memory. */
const keyOf = (c: Conversation) => `${c.team ?? ""}:${c.channel}`;

const adapter: AdapterDefinition = (ctx: IntegrationContext): Adapter => {
  let handler: AdapterHandler | undefined;
  let decide: ApprovalDecider | undefined;
  const tokens = new InteractionTokens();
  const posted = new PostedParts();

  /** Posts `text` through the interaction's webhook. False when Discord refused the token. */
  async function viaInteraction(
    interaction: string,
    token: string,
    target: AdapterTarget,
    text: string,
  ): Promise<boolean> {
    const first = !target.part || target.part.index === 1;
    try {
      if (first) await editOriginal(ctx, token, text, target.signal);
      else await followUp(ctx, token, text, target.signal);
      return true;
    } catch (err) {
      const status = (err as { status?: number | null }).status;
      if (status !== 401 && status !== 404) throw err;
      // An invalid or unknown token (expired early, interaction gone): use the channel.
      tokens.forget(interaction);
      ctx.log.warn({ status }, "interaction token refused; posting to the channel");
      return false;
    }
  }

  /**
   * A button pressed on a message: an approval button is decided at once (Discord wants an
   * answer within 3 s) and answered with a deferred update (type 6; the message is edited
   * when core sends the decision) or, when it resolved nothing, an ephemeral note to the
   * presser alone; any other component gets an ephemeral "not supported".
   */
  async function pressed(it: Extract<Interaction, { kind: "component" }>, reply: FastifyReply) {
    const m = CUSTOM_ID_RE.exec(it.customId);
    if (!m) return ephemeral("This button is not supported.");
    const decideFn = decide;
    if (!decideFn) return reply.code(503).send({ detail: "The Discord adapter is not running" });
    let r: ApprovalDecisionResult | undefined;
    try {
      r = await decideFn({
        approvalId: m[2]!,
        decision: m[1] as "approve" | "deny",
        conversation: it.conversation,
        actor: it.author,
      });
    } catch (err) {
      if ((err as Error)?.name === "AdapterNotRunningError") {
        return reply.code(503).send({ detail: "The Discord adapter is not running" });
      }
      ctx.log.warn({ err: (err as Error)?.message }, "discord approval decision failed");
    }
    ctx.log.info(
      { approval_id: m[2], decision: m[1], outcome: r?.outcome ?? "error" },
      "discord approval button",
    );
    const note = outcomeText(r);
    return note ? ephemeral(note) : { type: DEFERRED_UPDATE_MESSAGE };
  }

  /**
   * Shows a decision: the request message (`requestPost`, its id) is edited to the decision,
   * its buttons removed; without one the decision is posted in the channel.
   */
  async function showDecision(
    target: AdapterTarget,
    approval: ApprovalView,
    requestPost: string | undefined,
  ): Promise<AdapterSendResult | undefined> {
    const text = decisionText(approval);
    const channel = target.conversation.channel;
    if (requestPost && /^\d{1,25}$/.test(requestPost)) {
      await editChannelMessage(ctx, channel, requestPost, text, [], target.signal);
      posted.add(target.deliveryId);
      return undefined;
    }
    const msg = await postToChannel(ctx, channel, text, target.deliveryId, target.signal);
    posted.add(target.deliveryId);
    return msg?.id ? { postId: msg.id } : {};
  }

  async function deliver(
    target: AdapterTarget,
    output: Exclude<AdapterOutput, { kind: "progress" }>,
  ): Promise<AdapterSendResult | undefined> {
    if (output.kind === "approval_request") {
      // Always a channel message: its components outlive any interaction token.
      const msg = await postToChannel(
        ctx,
        target.conversation.channel,
        requestText(output.approval),
        target.deliveryId,
        target.signal,
        requestComponents(output.approval),
      );
      posted.add(target.deliveryId);
      return msg?.id ? { postId: msg.id } : {};
    }
    if (output.kind === "approval_decided") {
      return showDecision(target, output.approval, output.requestPost);
    }
    if (output.kind === "file") {
      // A follow-up of the interaction while its token is known, else a channel post.
      const token = tokens.token(target.replyTo);
      await uploadFile(
        ctx,
        token ? { token } : { channel: target.conversation.channel, deliveryId: target.deliveryId },
        output.file,
        target.signal,
      );
      posted.add(target.deliveryId);
      return;
    }
    const text = output.kind === "text" ? output.text : escapeMarkdown(output.text);
    const notice = output.kind === "notice";
    const interaction = notice
      ? tokens.noticeInteraction(keyOf(target.conversation))
      : target.replyTo;
    const token = tokens.token(interaction);
    if (token && interaction && (await viaInteraction(interaction, token, target, text))) {
      if (notice) tokens.forget(interaction);
    } else {
      await postToChannel(ctx, target.conversation.channel, text, target.deliveryId, target.signal);
    }
    posted.add(target.deliveryId);
    return undefined;
  }

  return {
    name: "discord",
    kind: "discord",
    maxTextLength: MAX_CONTENT_LENGTH,
    routes: async (app) => {
      app.removeAllContentTypeParsers();
      app.addContentTypeParser("*", { parseAs: "buffer" }, (req, body, done) => {
        req.rawBody = body as Buffer;
        done(null, undefined);
      });
      app.post("/interactions", { config: { auth: "self" } }, async (req, reply) => {
        const checked = await verifyInteraction(
          ctx.settings.DISCORD_PUBLIC_KEY,
          req.headers,
          req.rawBody,
        );
        if (!checked.ok) {
          ctx.log.warn({ reason: checked.reason }, "discord interaction refused");
          return reply.code(401).send({ detail: "Unauthorized" });
        }
        const it = parseInteraction(checked.text);
        if (!it) return reply.code(400).send({ detail: "Not a Discord interaction" });
        if (it.kind === "ping") return { type: PONG };
        if (it.kind === "unsupported")
          return ephemeral("This kind of interaction is not supported.");
        if (it.kind === "component") return pressed(it, reply);
        if (it.name !== ASK_COMMAND && it.name !== NEW_COMMAND) {
          return ephemeral(`Unknown command /${it.name}: use /${ASK_COMMAND} or /${NEW_COMMAND}.`);
        }
        if (!handler) return reply.code(503).send({ detail: "The Discord adapter is not running" });
        const isNew = it.name === NEW_COMMAND;
        // Kept before the turn is queued, so its reply always finds it.
        const added = tokens.remember(it.id, it.token);
        try {
          const r = await handler({
            conversation: it.conversation,
            author: it.author,
            text: isNew ? "/new" : it.prompt,
            mentioned: true,
            direct: it.direct,
            deliveryId: it.id,
            ...(it.files.length ? { attachments: it.files } : {}),
            metadata: { command: it.name },
          });
          if (r.outcome === "new_session") {
            tokens.awaitNotice(keyOf(it.conversation), it.id);
            return { type: DEFERRED_CHANNEL_MESSAGE, data: { flags: EPHEMERAL } };
          }
          if (r.outcome === "run" || r.outcome === "duplicate") {
            if (r.taskId) tokens.linkTask(r.taskId, it.id);
            return { type: DEFERRED_CHANNEL_MESSAGE };
          }
          if (added) tokens.forget(it.id);
          return ephemeral(
            r.reason === "empty" ? "Ask something: the prompt is empty." : "Nothing to do.",
          );
        } catch (err) {
          if (added) tokens.forget(it.id);
          const name = (err as Error)?.name;
          if (name === "AdapterNotRunningError") {
            return reply.code(503).send({ detail: "The Discord adapter is not running" });
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
      decide = opts.decide;
    },
    async send(target, output) {
      if (output.kind === "progress") {
        // The deferred response already shows "thinking…"; typing only on the channel path.
        if (output.state !== "start" || tokens.interactionOfTask(target.taskId)) return;
        await triggerTyping(ctx, target.conversation.channel, target.signal);
        return;
      }
      return deliver(target, output);
    },
    async findOwnPost(target) {
      return posted.has(target.deliveryId);
    },
    // An interaction's attachment URL is on Discord's CDN and needs no token.
    async attachmentSource(ref) {
      return { url: ref.ref };
    },
    async stop() {
      handler = undefined;
      decide = undefined;
      tokens.clear();
      posted.clear();
    },
  };
};

export default adapter;
