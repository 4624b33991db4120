/**
 * The three chat platforms' fake APIs started together, with the settings that point the
 * Slack, Telegram (webhook mode) and Discord integrations at them: for suites that drive
 * one scenario through every chat adapter (approvals, files).
 */
import {
  APPLICATION_ID,
  BOT_TOKEN as DISCORD_BOT_TOKEN,
  makeKeyPair,
} from "../fixtures/discord.ts";
import { BOT_USER_ID, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, TEAM_ID } from "../fixtures/slack.ts";
import { TELEGRAM_TOKEN, WEBHOOK_SECRET } from "../fixtures/telegram.ts";
import { type FakeDiscord, startFakeDiscord } from "./fake-discord.ts";
import { type FakeSlack, startFakeSlack } from "./fake-slack.ts";
import { type FakeTelegram, startFakeTelegram } from "./fake-telegram.ts";

/** Delivery and polling tuning for chat suites: retries after 50 ms, polls every 50 ms. */
export const CHAT_TUNING = {
  deliveryScheduleMs: [50, 50, 50],
  minBackoffAfterThrottleMs: 50,
  pollMs: 50,
};

/** The running fakes, the Discord key pair that signs interactions, and the app's env. */
export interface ChatFakes {
  slack: FakeSlack;
  telegram: FakeTelegram;
  discord: FakeDiscord;
  /** Signs Discord interactions; the app is given its public key. */
  discordKeys: ReturnType<typeof makeKeyPair>;
  /** Settings for `startTestApp({ env })`: each integration's token, secret and API URL. */
  env: Record<string, string>;
  /** Closes the three fakes. */
  close(): Promise<void>;
}

/**
 * Starts fake Slack, Telegram and Discord APIs on 127.0.0.1. `discordKeys`: the key pair to
 * sign interactions with (default a new one); `telegramUsername`: the bot's @name.
 */
export async function startChatFakes(
  opts: { telegramUsername?: string; discordKeys?: ReturnType<typeof makeKeyPair> } = {},
): Promise<ChatFakes> {
  const discordKeys = opts.discordKeys ?? makeKeyPair();
  const slack = await startFakeSlack({
    token: SLACK_BOT_TOKEN,
    botUserId: BOT_USER_ID,
    teamId: TEAM_ID,
  });
  const telegram = await startFakeTelegram({
    token: TELEGRAM_TOKEN,
    ...(opts.telegramUsername ? { username: opts.telegramUsername } : {}),
  });
  const discord = await startFakeDiscord({ botToken: DISCORD_BOT_TOKEN });
  return {
    slack,
    telegram,
    discord,
    discordKeys,
    env: {
      SLACK_SIGNING_SECRET,
      SLACK_BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
      TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
      TELEGRAM_API_URL: telegram.url,
      TELEGRAM_WEBHOOK_URL: "https://bot.example.test/integrations/telegram/webhook",
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      DISCORD_PUBLIC_KEY: discordKeys.publicKeyHex,
      DISCORD_BOT_TOKEN,
      DISCORD_APPLICATION_ID: APPLICATION_ID,
      DISCORD_API_URL: discord.url,
    },
    close: async () => {
      await Promise.all([slack.close(), telegram.close(), discord.close()]);
    },
  };
}
