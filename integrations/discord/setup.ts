/**
 * The manifest of the Discord chat adapter: slash commands (`/ask`, `/new`) come in on the
 * Interactions Endpoint, signed with Ed25519; replies edit the deferred response or go to
 * the channel with the bot token. See the README, "Connect Discord".
 */
import type { SetupManifest } from "switchyard";

export default {
  env_vars: [
    {
      key: "DISCORD_PUBLIC_KEY",
      required: true,
      description:
        "The application's public key (hex, General Information page): interactions must be signed with its private half",
    },
    {
      key: "DISCORD_BOT_TOKEN",
      required: true,
      secret: true,
      description:
        "The bot token: channel posts, typing, and `switchyard discord register-commands`",
    },
    {
      key: "DISCORD_APPLICATION_ID",
      required: true,
      description: "The application id: interaction webhooks and command registration",
    },
    {
      key: "DISCORD_API_URL",
      default: "https://discord.com/api/v10",
      description: "Discord's REST API root",
    },
    {
      key: "DISCORD_BOT_ID",
      default: "default",
      description: "The switchyard bot that answers conversations without a channel row",
    },
    {
      key: "DISCORD_GUILD_ID",
      description:
        "When set, register-commands registers the commands in this guild only (instant) instead of globally",
    },
  ],
  webhook: {
    path: "/integrations/discord/interactions",
    description:
      "Discord's Interactions Endpoint URL: Ed25519-signed interactions (PING, /ask, /new)",
  },
  activation: {
    requires: ["DISCORD_PUBLIC_KEY", "DISCORD_BOT_TOKEN", "DISCORD_APPLICATION_ID"],
  },
} satisfies SetupManifest;
