/**
 * The manifest of the generic webhook chat adapter: messages come in signed with Standard
 * Webhooks, replies go out signed the same way to one configured callback URL.
 */
import type { SetupManifest } from "switchyard";

export default {
  env_vars: [
    {
      key: "WEBHOOK_ADAPTER_SECRET",
      required: true,
      secret: true,
      description:
        "Standard Webhooks secret (whsec_<base64>): inbound messages must be signed with it, replies are signed with it",
    },
    {
      key: "WEBHOOK_ADAPTER_CALLBACK_URL",
      required: true,
      description:
        "Where replies are POSTed ({conversation, reply_to, text, task_id}); never taken from a request",
    },
    {
      key: "WEBHOOK_ADAPTER_BOT_ID",
      default: "default",
      description: "The bot that answers conversations without a channel row",
    },
    {
      key: "WEBHOOK_ADAPTER_MAX_LENGTH",
      default: "4000",
      description: "Longest reply text of one callback (characters); longer replies are split",
    },
  ],
  webhook: {
    path: "/integrations/webhook/in",
    description:
      "POST {conversation, user: {id, name?}, text} signed with Standard Webhooks (WEBHOOK_ADAPTER_SECRET)",
  },
  activation: { requires: ["WEBHOOK_ADAPTER_SECRET", "WEBHOOK_ADAPTER_CALLBACK_URL"] },
} satisfies SetupManifest;
