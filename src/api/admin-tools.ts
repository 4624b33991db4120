/**
 * `GET /api/v1/admin/tools` (admin scope): the tool registry, for picking a bot's tools —
 * name, description and where each came from ("core" or the file that registered it).
 * Skills are listed by `GET /api/v1/skills`.
 */
import type { ToolRegistry } from "../agent/tools.ts";
import { apiPlugin } from "../http/routes.ts";

/** What adminToolsApi needs. */
export interface AdminToolsApiOptions {
  tools: Pick<ToolRegistry, "list">;
}

/** Registers the tool listing route. */
export const adminToolsApi = apiPlugin<AdminToolsApiOptions>((routes, { tools }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/admin/tools",
    summary: "The registered tools a bot may name, by name: [{name, description, source}]",
    scope: "admin",
    async handler() {
      return tools
        .list()
        .map((t) => ({ name: t.name, description: t.description, source: t.source }));
    },
  });
});
