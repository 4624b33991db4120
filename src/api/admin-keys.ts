/**
 * `/api/v1/admin/keys…`: create, list and revoke API keys (admin scope). A key is shown
 * only once, in the answer that creates it (here or `switchyard keys create`); the other
 * routes never return a key or its hash, only its id, name, scopes and times. A revoked key is refused (401) from the next request on.
 */
import { z } from "zod";
import type { ApiKeyAuth } from "../http/auth.ts";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import { SCOPES } from "../sdk/scopes.ts";
import type { ApiKeyListing } from "../store/api-keys.ts";
import type { Store } from "../store/index.ts";

const idParams = z.object({ id: z.string().min(1).max(200) });
const createBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.enum(SCOPES)).min(1),
});

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/**
 * The wire shape of a key (times ISO 8601): id, name, scopes, created_at, last_used_at
 * (null when never used; updated at most once a minute).
 */
export function apiKeyJson(k: ApiKeyListing) {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    created_at: iso(k.createdAt),
    last_used_at: iso(k.lastUsedAt),
  };
}

/** What adminKeysApi needs: the store to list, the auth to revoke (it forgets the key at once). */
export interface AdminKeysApiOptions {
  store: Store;
  keys: Pick<ApiKeyAuth, "revoke">;
}

/** Registers the API key routes. */
export const adminKeysApi = apiPlugin<AdminKeysApiOptions>((routes, { store, keys }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/admin/keys",
    summary:
      "The API keys in force, oldest first: id, name, scopes, created_at, last_used_at (never the key)",
    scope: "admin",
    query: z.strictObject({}),
    async handler() {
      return (await store.apiKeys.list()).map(apiKeyJson);
    },
  });

  routes.add({
    method: "POST",
    url: "/api/v1/admin/keys",
    summary:
      "Create an API key {name, scopes}: the answer holds the key, shown this once (only its hash is kept); 409 when the name is taken",
    scope: "admin",
    body: createBody,
    status: 201,
    async handler({ body }) {
      if (await store.apiKeys.existsNamed(body.name))
        throw new HttpError(409, `An API key named ${body.name} exists`);
      const { record, key } = await store.apiKeys.create(body.name, [...new Set(body.scopes)]);
      return { ...apiKeyJson({ ...record, lastUsedAt: null }), key };
    },
  });

  routes.add({
    method: "DELETE",
    url: "/api/v1/admin/keys/:id",
    summary: "Revoke an API key: it is refused from the next request on (404 when unknown)",
    scope: "admin",
    params: idParams,
    status: 204,
    async handler({ params }, reply) {
      if (!(await keys.revoke(params.id))) throw notFound("API key");
      return reply.code(204).send();
    },
  });
});
