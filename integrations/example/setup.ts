/**
 * The manifest: the settings this integration reads (resolved database → environment →
 * default and handed over as `ctx.settings`), and where its webhook lives.
 */
import type { SetupManifest } from "switchyard";

export default {
  env_vars: [
    {
      key: "EXAMPLE_WEBHOOK_SECRET",
      required: true,
      secret: true,
      description:
        "Shared secret: callers sign the raw body with HMAC-SHA256 (hex) in X-Example-Signature",
    },
    {
      key: "EXAMPLE_OUTBOUND_URL",
      required: false,
      description: "Where the dispatcher POSTs results ({channel, text, delivery_id})",
    },
    {
      key: "EXAMPLE_GREETING",
      default: "Hello",
      description: "Greeting used by the example_greet tool",
    },
    {
      key: "EXAMPLE_PROCESS_ENABLED",
      required: false,
      description: "Set to any value to run the heartbeat process",
    },
  ],
  webhook: { path: "/integrations/example/webhook", description: "POST {client_id, text}, signed" },
  sidebar_section: { title: "Example", icon: "puzzle" },
  // The admin UI fetches `source` (a GET route of this integration's router) and renders
  // the JSON it answers: a list of objects as a table, an object as a list of fields.
  dashboard_modules: [
    { id: "example-events", title: "Example events", source: "/integrations/example/events" },
  ],
  activation: { requires: ["EXAMPLE_WEBHOOK_SECRET"] },
} satisfies SetupManifest;
