/** Metadata of the generic webhook chat adapter. */
import type { IntegrationMetadata } from "switchyard";

export default {
  id: "webhook",
  name: "Generic webhook chat",
  version: "1.0.0",
} satisfies IntegrationMetadata;
