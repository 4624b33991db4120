/**
 * `/api/v1/skills…`: the skills synced from integration folders. Reading needs
 * `documents:read` (skills are knowledge, like documents); deleting one (an orphan the
 * sync kept because its integration showed no files) needs `admin`. Ids contain slashes
 * (`integrations/<name>/<stem>`), so single-skill routes take the rest of the path.
 */
import { z } from "zod";
import { notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import type { Skill, SkillRepository } from "../store/skills.ts";

const idParams = z.object({ "*": z.string().min(1) });
const listQuery = z.object({ integration: z.string().min(1).optional() });

/** The wire shape of a skill in a list (no content). */
export function skillJson(s: Skill) {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    integration: s.integration,
    source: s.source,
    content_hash: s.contentHash,
    created_at: new Date(s.createdAt).toISOString(),
    updated_at: new Date(s.updatedAt).toISOString(),
  };
}

/** What skillsApi needs. */
export interface SkillsApiOptions {
  skills: SkillRepository;
}

/** Registers the skill routes. */
export const skillsApi = apiPlugin<SkillsApiOptions>((routes, { skills }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/skills",
    summary: "Skills synced from integrations (optionally of one integration), by id",
    scope: "documents:read",
    query: listQuery,
    async handler({ query }) {
      return (await skills.list(query.integration)).map(skillJson);
    },
  });

  routes.add({
    method: "GET",
    url: "/api/v1/skills/*",
    summary: "One skill with its content (the path after /skills/ is its id)",
    scope: "documents:read",
    params: idParams,
    async handler({ params }) {
      const s = await skills.get(params["*"]);
      if (!s) throw notFound("Skill");
      return { ...skillJson(s), content: s.content };
    },
  });

  routes.add({
    method: "DELETE",
    url: "/api/v1/skills/*",
    summary: "Delete a skill (its file, if still there, brings it back at the next start)",
    scope: "admin",
    params: idParams,
    status: 204,
    async handler({ params }, reply) {
      if ((await skills.delete([params["*"]])) === 0) throw notFound("Skill");
      return reply.code(204).send();
    },
  });
});
