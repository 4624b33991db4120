/**
 * The manifest of the Slack chat adapter: events come in over Slack's Events API (HTTP,
 * signed with the app's signing secret), replies go out through the Web API with the bot
 * token. See the README, "Connect Slack".
 */
import type { SetupManifest } from "switchyard";

export default {
  env_vars: [
    {
      key: "SLACK_SIGNING_SECRET",
      required: true,
      secret: true,
      description:
        "The Slack app's Signing Secret (Basic Information → App Credentials): every event must carry its v0 signature",
    },
    {
      key: "SLACK_BOT_TOKEN",
      required: true,
      secret: true,
      description:
        "The app's Bot User OAuth Token (xoxb-…), for chat.postMessage, chat.update, chat.postEphemeral and reactions",
    },
    {
      key: "SLACK_BOT_ID",
      default: "default",
      description: "The switchyard bot that answers conversations without a channel row",
    },
    {
      key: "SLACK_API_URL",
      default: "https://slack.com/api/",
      description: "Base URL of Slack's Web API (change it only for a test double)",
    },
  ],
  webhook: {
    path: "/integrations/slack/events",
    description:
      "Slack Events API Request URL (app_mention, message.im; message.channels for passive memory), signed with SLACK_SIGNING_SECRET. Approval buttons need Interactivity on, with the Request URL /integrations/slack/interactions",
  },
  activation: { requires: ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"] },
} satisfies SetupManifest;
