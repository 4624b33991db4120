/** `/api/v1/state`: the integrations state (webhooks without secrets, git auto-commit, notifications). */
import type { IntegrationsState } from "../events/outbound-types.ts";
import type { RouteTable } from "../http/routes.ts";

/** Registers the state route; `state` assembles it (see `delivery/integrations-state.ts`). */
export function stateRoutes(routes: RouteTable, state: () => Promise<IntegrationsState>): void {
  routes.add({
    method: "GET",
    url: "/api/v1/state",
    summary:
      "Integrations state: {version, updated_at, webhooks (no secrets), git_auto_commit, notifications}",
    scope: "webhooks:read",
    async handler() {
      return state();
    },
  });
}
