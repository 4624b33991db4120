/** Metadata of the Telegram chat adapter. */
import type { IntegrationMetadata } from "switchyard";

export default {
  id: "telegram",
  name: "Telegram",
  version: "1.0.0",
} satisfies IntegrationMetadata;
