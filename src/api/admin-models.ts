/**
 * `GET /api/v1/admin/models` (admin scope): the model endpoints the bots use and whether
 * they answered when this instance last checked them (at start, for the banner). It never
 * probes per request; endpoints and reasons are cut to `scheme://host`, so no credential a
 * base URL may carry is shown.
 */
import type { ModelCheckResult } from "../agent/model-check-result.ts";
import { apiPlugin } from "../http/routes.ts";

/** What adminModelsApi needs. */
export interface AdminModelsApiOptions {
  modelCheck: ModelCheckResult;
}

/** Registers the model check route. */
export const adminModelsApi = apiPlugin<AdminModelsApiOptions>((routes, { modelCheck }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/admin/models",
    summary:
      "The last start-up check of the bots' model endpoints: {checked_at (null: not checked on this instance), models: [{spec, ok, endpoint, reason, bots: [{id, fallback}]}]}",
    scope: "admin",
    async handler() {
      const last = modelCheck.get();
      return {
        checked_at: last ? new Date(last.checkedAt).toISOString() : null,
        models: last?.models ?? [],
      };
    },
  });
});
