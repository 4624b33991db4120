/** Metadata of the Discord chat adapter. */
import type { IntegrationMetadata } from "switchyard";

export default {
  id: "discord",
  name: "Discord",
  version: "1.0.0",
} satisfies IntegrationMetadata;
