/**
 * The Telegram chat adapter (Bot API, https://core.telegram.org/bots/api, through grammY).
 *
 * In, one of two modes:
 * - webhook, when `TELEGRAM_WEBHOOK_URL` is set: at start the URL is registered with
 *   `setWebhook` (https://core.telegram.org/bots/api#setwebhook) with `secret_token` =
 *   `TELEGRAM_WEBHOOK_SECRET` (required then) and `allowed_updates: ["message",
 *   "callback_query"]`; updates
 *   arrive at `POST /integrations/telegram/webhook`, accepted only with a matching
 *   `X-Telegram-Bot-Api-Secret-Token` (constant-time) — else 401, nothing stored. 200 after
 *   the commit; 503 while stopped (Telegram redelivers).
 * - long polling otherwise: at start `deleteWebhook` (getUpdates refuses to work while a
 *   webhook is set), then `getUpdates` in a loop on one instance at a time
 *   (`ctx.exclusive`), the offset stored after each committed update (see ./_poller.ts).
 * Which messages count and how they are read: ./_update.ts. The dedupe key is
 * `<bot id>:<update_id>:…`, so a webhook redelivery, a replayed poll or two bots never make
 * a second turn.
 *
 * Out (only from `send`, called by the outbox): `sendMessage` to the chat (and forum topic),
 * quoting the user's message (`reply_parameters`), at most 4,096 characters per message
 * (https://core.telegram.org/bots/api#sendmessage). Text is sent plain — no `parse_mode` —
 * so nothing needs escaping and a reply's `*` or `<` shows as typed. Progress `start` sends
 * `sendChatAction typing`; `clear` sends nothing (Telegram clears the indicator itself
 * after 5 s or when the bot's message arrives). Failures become DeliveryErrors: 429
 * (waiting `retry_after`) and 5xx are retried by the outbox; 400, 403 are final. grammY's
 * client makes one request per call (no retry plugin), and the token (part of every
 * request URL) never reaches a log or an error.
 *
 * Approvals (./_approval.ts, ./_callback.ts): `approval_request` is sent with an inline
 * keyboard and `send` returns the message id; a press is a `callback_query` update (both
 * modes), decided through `decide` once per update id and always answered
 * (`answerCallbackQuery`); `approval_decided` edits the request's text to the decision and
 * removes its keyboard.
 */
import type { IncomingHttpHeaders } from "node:http";
import { Bot, InputFile } from "grammy";
import type { InlineKeyboardMarkup, Update } from "grammy/types";
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
import { decisionText, requestKeyboard, requestText } from "./_approval.ts";
import { handlePress, pressOf } from "./_callback.ts";
import { apiErrorCode, describeError, redactToken, toDeliveryError } from "./_errors.ts";
import { ALLOWED_UPDATES, pollUpdates } from "./_poller.ts";
import { secretTokenMatches } from "./_secret.ts";
import { forGrammy } from "./_signal.ts";
import { type Me, messageIdOf, toInput } from "./_update.ts";

/** Longest text of one message (https://core.telegram.org/bots/api#sendmessage). */
export const MAX_TEXT_LENGTH = 4096;

/** Wait before polling again after the poller failed, ms. */
const RESTART_POLL_MS = 5000;

/** The lease that makes one instance the poller. */
const POLL_LEASE = "telegram:poll";

const SECRET_HEADER = "x-telegram-bot-api-secret-token";
const SECRET_RE = /^[A-Za-z0-9_-]{1,256}$/;

const header = (h: IncomingHttpHeaders, k: string) => h[k];

const adapter: AdapterDefinition = (ctx: IntegrationContext): Adapter => {
  let handler: AdapterHandler | undefined;
  let decide: ApprovalDecider | undefined;
  let bot: Bot | undefined;
  let me: Me | undefined;
  let mode: "webhook" | "polling" | undefined;
  let controller: AbortController | undefined;
  let polling: Promise<void> | undefined;

  const token = () => ctx.settings.TELEGRAM_BOT_TOKEN ?? "";

  /** Stores one update through the handler; resolves with its outcome (or why skipped). */
  async function handleUpdate(
    update: Update,
  ): Promise<{ status: string; session_id: string | null; task_id: string | null }> {
    const h = handler;
    if (!h || !me) {
      const err = new Error("The Telegram adapter is not running");
      err.name = "AdapterNotRunningError";
      throw err;
    }
    const press = pressOf(update);
    if (press) {
      const status = await handlePress(
        { state: ctx.state, log: ctx.log, decide: () => decide, bot: () => bot, token },
        update.update_id,
        press,
      );
      return { status, session_id: null, task_id: null };
    }
    const r = toInput(update, me);
    if ("skip" in r) return { status: "ignored", session_id: null, task_id: null };
    try {
      const out = await h(r.input);
      return { status: out.outcome, session_id: out.sessionId, task_id: out.taskId };
    } catch (err) {
      // An input the handler refuses will never pass: skip it rather than retry for ever.
      if ((err as Error)?.name === "InvalidInputError") {
        ctx.log.warn(
          { update_id: update.update_id, err: (err as Error).message },
          "telegram update refused",
        );
        return { status: "invalid", session_id: null, task_id: null };
      }
      throw err;
    }
  }

  /**
   * Shows a decision: the request message (`requestPost`, its message id) gets the
   * decision as its text and loses its keyboard; without one the decision is sent.
   */
  async function showDecision(
    target: AdapterTarget,
    approval: ApprovalView,
    requestPost: string | undefined,
  ): Promise<AdapterSendResult | undefined> {
    const text = decisionText(approval);
    const messageId = requestPost ? Number(requestPost) : Number.NaN;
    if (!bot) throw new ctx.errors.DeliveryError("the Telegram adapter is not running");
    if (!Number.isSafeInteger(messageId) || messageId <= 0) return post(target, text);
    try {
      await bot.api.editMessageText(
        target.conversation.channel,
        messageId,
        text,
        { reply_markup: { inline_keyboard: [] } },
        forGrammy(target.signal),
      );
    } catch (err) {
      // A repeat of an edit that went through.
      if (apiErrorCode(err) === 400 && /not modified/i.test(describeError(err, token()))) {
        return undefined;
      }
      throw toDeliveryError(ctx.errors, err, token());
    }
    return undefined;
  }

  const apiRoot = () =>
    (ctx.settings.TELEGRAM_API_URL || "https://api.telegram.org").replace(/\/+$/, "");

  /** Uploads a reply's file: sendPhoto for JPEG/PNG, else sendDocument. */
  async function upload(target: AdapterTarget, file: OutboundFile): Promise<void> {
    if (!bot) throw new ctx.errors.DeliveryError("the Telegram adapter is not running");
    const thread = target.conversation.thread ? Number(target.conversation.thread) : undefined;
    const other = thread !== undefined ? { message_thread_id: thread } : {};
    const input = new InputFile(file.data(), file.name);
    try {
      if (file.mediaType === "image/jpeg" || file.mediaType === "image/png") {
        await bot.api.sendPhoto(
          target.conversation.channel,
          input,
          other,
          forGrammy(target.signal),
        );
      } else {
        await bot.api.sendDocument(
          target.conversation.channel,
          input,
          other,
          forGrammy(target.signal),
        );
      }
    } catch (err) {
      throw toDeliveryError(ctx.errors, err, token());
    }
  }

  function makeBot(): Bot {
    const pollSeconds = Number(ctx.settings.TELEGRAM_POLL_TIMEOUT_SECONDS);
    return new Bot(token(), {
      client: {
        apiRoot: apiRoot(),
        // Above the long-poll timeout, so a poll is never cut short by the client.
        timeoutSeconds: (Number.isFinite(pollSeconds) && pollSeconds > 0 ? pollSeconds : 30) + 30,
      },
    });
  }

  /** Sends a message (with `replyMarkup`, an inline keyboard); resolves with its id. */
  async function post(
    target: AdapterTarget,
    text: string,
    replyMarkup?: InlineKeyboardMarkup,
  ): Promise<AdapterSendResult> {
    if (!bot) throw new ctx.errors.DeliveryError("the Telegram adapter is not running");
    const replyTo = messageIdOf(target.replyTo);
    const thread = target.conversation.thread ? Number(target.conversation.thread) : undefined;
    try {
      const sent = await bot.api.sendMessage(
        target.conversation.channel,
        text,
        {
          ...(thread !== undefined ? { message_thread_id: thread } : {}),
          ...(replyTo !== undefined
            ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } }
            : {}),
          ...(replyMarkup ? { reply_markup: replyMarkup } : {}),
        },
        forGrammy(target.signal),
      );
      return { postId: String(sent.message_id) };
    } catch (err) {
      throw toDeliveryError(ctx.errors, err, token());
    }
  }

  return {
    name: "telegram",
    kind: "telegram",
    maxTextLength: MAX_TEXT_LENGTH,
    routes: async (app) => {
      app.removeAllContentTypeParsers();
      app.addContentTypeParser("*", { parseAs: "buffer" }, (req, body, done) => {
        req.rawBody = body as Buffer;
        done(null, undefined);
      });
      app.post("/webhook", { config: { auth: "self" } }, async (req, reply) => {
        const secret = ctx.settings.TELEGRAM_WEBHOOK_SECRET;
        if (!secretTokenMatches(header(req.headers, SECRET_HEADER), secret)) {
          ctx.log.warn({}, "telegram webhook refused: missing or wrong secret token");
          return reply.code(401).send({ detail: "Unauthorized" });
        }
        if (!handler || mode !== "webhook") {
          return reply.code(503).send({ detail: "The Telegram adapter is not in webhook mode" });
        }
        let update: Update;
        try {
          update = JSON.parse(req.rawBody?.toString("utf8") ?? "") as Update;
        } catch {
          return reply.code(400).send({ detail: "Body must be a Telegram Update (JSON)" });
        }
        if (!update || typeof update !== "object" || !Number.isSafeInteger(update.update_id)) {
          return reply.code(400).send({ detail: "Body must be a Telegram Update (JSON)" });
        }
        try {
          // Telegram reads only the status code; the body helps whoever else looks.
          return await handleUpdate(update);
        } catch (err) {
          if ((err as Error)?.name === "AdapterNotRunningError") {
            return reply.code(503).send({ detail: "The Telegram adapter is not running" });
          }
          throw err;
        }
      });
    },

    async start(opts) {
      handler = opts.handler;
      decide = opts.decide;
      controller = new AbortController();
      const signal = AbortSignal.any([opts.signal, controller.signal]);
      bot = makeBot();
      const webhookUrl = ctx.settings.TELEGRAM_WEBHOOK_URL;
      try {
        await bot.init(forGrammy(signal));
        const info = bot.botInfo;
        me = { id: info.id, username: info.username };
        if (webhookUrl) {
          const secret = ctx.settings.TELEGRAM_WEBHOOK_SECRET;
          if (!secret || !SECRET_RE.test(secret)) {
            throw new Error(
              "TELEGRAM_WEBHOOK_SECRET is required in webhook mode: 1–256 characters of A-Z a-z 0-9 _ -",
            );
          }
          await bot.api.setWebhook(
            webhookUrl,
            { secret_token: secret, allowed_updates: [...ALLOWED_UPDATES] },
            forGrammy(signal),
          );
          mode = "webhook";
        } else {
          // getUpdates answers 409 while a webhook is set.
          await bot.api.deleteWebhook({ drop_pending_updates: false }, forGrammy(signal));
          mode = "polling";
        }
      } catch (err) {
        // The host reports this message: never the token.
        throw new Error(`Telegram start failed: ${describeError(err, token())}`);
      }
      if (mode === "polling") {
        const seconds = Number(ctx.settings.TELEGRAM_POLL_TIMEOUT_SECONDS);
        const deps = {
          bot,
          state: ctx.state,
          log: ctx.log,
          token: token(),
          timeoutSeconds: Number.isFinite(seconds) && seconds >= 0 ? seconds : 30,
          handle: async (u: Update) => {
            await handleUpdate(u);
          },
        };
        polling = (async () => {
          // A failure the poller cannot ride out (the database gone while reading or
          // storing the offset) ends one exclusive run; poll again after a pause.
          while (!signal.aborted) {
            try {
              await ctx.exclusive(POLL_LEASE, (lease) => pollUpdates(deps, lease), { signal });
            } catch (err) {
              ctx.log.error(
                { err: redactToken((err as Error)?.message ?? String(err), token()) },
                "telegram polling failed; polling again in 5 s",
              );
              await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, RESTART_POLL_MS);
                signal.addEventListener(
                  "abort",
                  () => {
                    clearTimeout(timer);
                    resolve();
                  },
                  { once: true },
                );
              });
            }
          }
        })();
      }
      ctx.log.info({ mode, bot: me.username }, "telegram adapter started");
    },

    async send(target, output) {
      if (output.kind === "progress") {
        if (output.state !== "start" || !bot) return;
        const thread = target.conversation.thread ? Number(target.conversation.thread) : undefined;
        try {
          await bot.api.sendChatAction(
            target.conversation.channel,
            "typing",
            thread !== undefined ? { message_thread_id: thread } : {},
            forGrammy(target.signal),
          );
        } catch (err) {
          throw toDeliveryError(ctx.errors, err, token());
        }
        return;
      }
      if (output.kind === "approval_request") {
        let keyboard: InlineKeyboardMarkup;
        try {
          keyboard = requestKeyboard(output.approval);
        } catch (err) {
          throw new ctx.errors.DeliveryError((err as Error).message, { retryable: false });
        }
        return post(target, requestText(output.approval), keyboard);
      }
      if (output.kind === "approval_decided") {
        return showDecision(target, output.approval, output.requestPost);
      }
      if (output.kind === "file") return upload(target, output.file);
      return post(target, output.text);
    },

    // getFile names the file's path; the download URL carries the token, so the host uses
    // it once and never stores it (https://core.telegram.org/bots/api#getfile).
    async attachmentSource(ref, signal) {
      if (!bot) throw new Error("the Telegram adapter is not running");
      let path: string | undefined;
      try {
        path = (await bot.api.getFile(ref.ref, forGrammy(signal))).file_path;
      } catch (err) {
        throw new Error(describeError(err, token()));
      }
      if (!path) throw new Error("getFile gave no file_path (file too large to download?)");
      return { url: `${apiRoot()}/file/bot${token()}/${path}` };
    },

    async stop() {
      controller?.abort();
      await polling;
      polling = undefined;
      handler = undefined;
      decide = undefined;
      mode = undefined;
    },
  };
};

export default adapter;
