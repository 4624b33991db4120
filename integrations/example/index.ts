/** Metadata of the reference integration (optional file). */
import type { IntegrationMetadata } from "switchyard";

export default { id: "example", name: "Example", version: "1.0.0" } satisfies IntegrationMetadata;
