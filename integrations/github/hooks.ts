/**
 * Integration metadata: sessions of this integration have client ids `github:<owner>/<repo>`.
 * No lifecycle hooks.
 */
import type { HooksDefinition } from "switchyard";

export default {
  meta: { integration_type: "github", client_id_prefix: "github:" },
} satisfies HooksDefinition;
