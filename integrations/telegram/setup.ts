/**
 * The manifest of the Telegram chat adapter: a bot (token from @BotFather) that answers
 * private chats, and mentions or replies in groups. Webhook mode when
 * `TELEGRAM_WEBHOOK_URL` is set, long polling otherwise. See the README, "Connect Telegram".
 */
import type { SetupManifest } from "switchyard";

export default {
  env_vars: [
    {
      key: "TELEGRAM_BOT_TOKEN",
      required: true,
      secret: true,
      description: "The bot's token from @BotFather (123456:ABC-…); never logged",
    },
    {
      key: "TELEGRAM_WEBHOOK_URL",
      description:
        "Public HTTPS URL of /integrations/telegram/webhook on this server: set → webhook mode (registered with setWebhook at start); unset → long polling",
    },
    {
      key: "TELEGRAM_WEBHOOK_SECRET",
      secret: true,
      description:
        "Required in webhook mode: 1–256 of A-Z a-z 0-9 _ -; Telegram sends it in X-Telegram-Bot-Api-Secret-Token and other requests are refused",
    },
    {
      key: "TELEGRAM_API_URL",
      default: "https://api.telegram.org",
      description: "Bot API root (a local Bot API server, or a test fake); no trailing slash",
    },
    {
      key: "TELEGRAM_BOT_ID",
      default: "default",
      description: "The bot that answers chats without a channel row",
    },
    {
      key: "TELEGRAM_POLL_TIMEOUT_SECONDS",
      default: "30",
      description: "Long-polling timeout of getUpdates, in seconds (polling mode)",
    },
  ],
  webhook: {
    path: "/integrations/telegram/webhook",
    description:
      "Telegram updates (webhook mode): X-Telegram-Bot-Api-Secret-Token must equal TELEGRAM_WEBHOOK_SECRET",
  },
  activation: { requires: ["TELEGRAM_BOT_TOKEN"] },
} satisfies SetupManifest;
