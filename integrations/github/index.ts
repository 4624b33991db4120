/** Metadata of the GitHub integration. */
import type { IntegrationMetadata } from "switchyard";

export default { id: "github", name: "GitHub", version: "1.0.0" } satisfies IntegrationMetadata;
