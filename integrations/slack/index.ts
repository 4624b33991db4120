/** Metadata of the Slack chat adapter. */
import type { IntegrationMetadata } from "switchyard";

export default {
  id: "slack",
  name: "Slack",
  version: "1.0.0",
} satisfies IntegrationMetadata;
