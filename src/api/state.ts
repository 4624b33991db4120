/** `/api/v1/state`: the integrations state (webhooks without secrets, git auto-commit, notifications). */
import type { IntegrationsState } from "../events/outbound-types.ts";
import { apiPlugin } from "../http/routes.ts";

/** What stateApi needs. */
export interface StateApiOptions {
  state: () => Promise<IntegrationsState>;
}

/** Registers the state route; `state` assembles it (see `events/state.ts`). */
export const stateApi = apiPlugin<StateApiOptions>((routes, { state }) => {
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
});
