/**
 * `GET /` redirects to the admin UI (`/admin`). `GET /about`: a small HTML page that works
 * without JavaScript or a key — the version, whether the database answers, where the API
 * key is (never the key) and where the API is described; the UI's sign-in page links to it.
 */
import type { ApiKeyInfo } from "../http/api-key-setup.ts";
import { apiPlugin } from "../http/routes.ts";
import type { Store } from "../store/index.ts";

/** What homePage needs. */
export interface HomePageOptions {
  store: Store;
  /** Package version, shown on the page. */
  version: string;
  /** Where the API key in force comes from (its path, never the key). */
  apiKey: ApiKeyInfo;
}

/** The OpenAPI document's path (served by the system plugin). */
const OPENAPI_PATH = "/api/v1/openapi.json";

/** Registers `GET /` (302 → /admin) and `GET /about` (public, `text/html`). */
export const homePage = apiPlugin<HomePageOptions>((routes, deps) => {
  routes.add({
    method: "GET",
    url: "/",
    summary: "Redirects (302) to the admin UI at /admin",
    status: 302,
    handler: async (_i, reply) => reply.redirect("/admin", 302),
  });
  routes.add({
    method: "GET",
    url: "/about",
    summary: "A page for browsers (HTML): version, health, where the API key is, this document",
    handler: async (_i, reply) => {
      const healthy = await deps.store.ping().then(
        () => true,
        () => false,
      );
      return reply
        .type("text/html; charset=utf-8")
        .send(renderHomePage(deps.version, healthy, apiKeyWhere(deps.apiKey)));
    },
  });
});

/** Where the key is, in words: its file, or the setting that holds it. */
function apiKeyWhere(key: ApiKeyInfo): string {
  if (key.source === "env") return "set by <code>SWITCHYARD_API_KEY</code>";
  if (key.path) return `in <code>${escapeHtml(key.path)}</code> on the server (mode 0600)`;
  return "generated on first start, but its file is gone: create one with <code>switchyard keys create --scopes admin</code>";
}

function renderHomePage(version: string, healthy: boolean, keyWhere: string): string {
  const v = escapeHtml(version);
  const health = healthy
    ? "ready: the database answers"
    : "not ready: the database does not answer";
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>switchyard ${v}</title></head>
<body>
<h1>switchyard ${v}</h1>
<p>Health: ${health} (<a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>).</p>
<p>API key: ${keyWhere}. Send it as <code>Authorization: Bearer &lt;key&gt;</code>.</p>
<p>API: <a href="${OPENAPI_PATH}">the OpenAPI document</a> describes every route under <code>/api/v1</code>.</p>
<p>Admin UI: <a href="/admin">/admin</a> (sign in with the API key).</p>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}
