/**
 * Integration metadata of the Slack adapter. `user_attribution` gives each reply its sender
 * name and icon (chat.postMessage `username` / `icon_url`, which need the
 * `chat:write.customize` scope): the bot's `integration_config.slack.{username, icon_url}`,
 * else its `display_name` / `avatar_url`.
 */
import type { HooksDefinition } from "switchyard";

const str = (v: unknown): string | undefined =>
  typeof v === "string" && v.trim() ? v.trim() : undefined;

export default {
  meta: {
    integration_type: "slack",
    client_id_prefix: "slack:",
    user_attribution(bot) {
      const cfg = (bot.integration_config as Record<string, unknown> | null | undefined)?.slack as
        | Record<string, unknown>
        | undefined;
      const username = str(cfg?.username) ?? str(bot.display_name);
      const iconUrl = str(cfg?.icon_url) ?? str(bot.avatar_url);
      return {
        ...(username ? { username } : {}),
        ...(iconUrl ? { icon_url: iconUrl } : {}),
      };
    },
  },
} satisfies HooksDefinition;
