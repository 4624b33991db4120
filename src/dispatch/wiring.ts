/**
 * Registers core's dispatchers on the server's registry: `webhook` (over the one outbound
 * HTTP client, behind the same SSRF guard) and `internal` (into a session through the one
 * `injectMessage`). app.ts calls this; integrations and adapters add theirs while loading.
 */
import type { Config } from "../config.ts";
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import type { SessionService } from "../sessions/service.ts";
import type { AppTuning } from "../tuning.ts";
import { createInternalDispatcher } from "./internal.ts";
import type { DispatcherRegistry } from "./registry.ts";
import { createWebhookDispatcher } from "./webhook.ts";

/** What {@link registerCoreDispatchers} needs. */
export interface CoreDispatcherWiring {
  config: Pick<Config, "SWITCHYARD_ALLOW_PRIVATE_URLS">;
  tuning: Pick<AppTuning, "resolver">;
  http: OutboundHttpClient;
  sessions: Pick<SessionService, "injectMessage">;
}

/** Registers `webhook` and `internal` on `dispatchers` (replacing any earlier ones). */
export function registerCoreDispatchers(
  dispatchers: DispatcherRegistry,
  w: CoreDispatcherWiring,
): void {
  dispatchers.register(
    "webhook",
    createWebhookDispatcher(w.http, {
      allowPrivate: w.config.SWITCHYARD_ALLOW_PRIVATE_URLS,
      resolver: w.tuning.resolver,
    }),
  );
  dispatchers.register("internal", createInternalDispatcher(w.sessions));
}
