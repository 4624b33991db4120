// The admin UI's shell: sign-in, navigation (with the integrations' sidebar sections),
// a tiny client-side router over /admin/…, and sign-out. Each page is its own module.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, closeStream, navigate, scopeAllows } from "./api.js";
import { html } from "./html.js";
import { ApprovalsPage } from "./pages/approvals.js";
import { BotPage, BotsPage } from "./pages/bots.js";
import { ChannelsPage } from "./pages/channels.js";
import { DeliveriesPage, DeliveryPage } from "./pages/deliveries.js";
import { IntegrationPage, IntegrationsPage } from "./pages/integrations.js";
import { JobPage, JobsPage } from "./pages/jobs.js";
import { KeysPage } from "./pages/keys.js";
import { KnowledgePage } from "./pages/knowledge.js";
import { NotificationsPage } from "./pages/notifications.js";
import { OverviewPage } from "./pages/overview.js";
import { SessionPage, SessionsPage } from "./pages/sessions.js";
import { TaskPage } from "./pages/task.js";
import { TasksPage } from "./pages/tasks.js";
import { WebhooksPage } from "./pages/webhooks.js";

/** The pages: path pattern, title, the scope they need, component. */
const ROUTES = [
  { path: /^\/admin\/?$/, nav: "/admin", title: "Overview", scope: null, page: OverviewPage },
  {
    path: /^\/admin\/integrations\/?$/,
    nav: "/admin/integrations",
    title: "Integrations",
    scope: "admin",
    page: IntegrationsPage,
  },
  {
    path: /^\/admin\/integrations\/([^/]+)$/,
    title: "Integration",
    scope: "admin",
    page: IntegrationPage,
  },
  {
    path: /^\/admin\/sessions\/?$/,
    nav: "/admin/sessions",
    title: "Sessions",
    scope: "sessions:read",
    page: SessionsPage,
  },
  {
    path: /^\/admin\/sessions\/([^/]+)$/,
    title: "Session",
    scope: "sessions:read",
    page: SessionPage,
  },
  {
    path: /^\/admin\/tasks\/?$/,
    nav: "/admin/tasks",
    title: "Tasks",
    scope: "tasks:read",
    page: TasksPage,
  },
  { path: /^\/admin\/tasks\/([^/]+)$/, title: "Task", scope: "tasks:read", page: TaskPage },
  {
    path: /^\/admin\/approvals\/?$/,
    nav: "/admin/approvals",
    title: "Approvals",
    scope: "approvals:read",
    page: ApprovalsPage,
  },
  {
    path: /^\/admin\/jobs\/?$/,
    nav: "/admin/jobs",
    title: "Jobs",
    scope: "jobs:read",
    page: JobsPage,
  },
  { path: /^\/admin\/jobs\/([^/]+)$/, title: "Job", scope: "jobs:read", page: JobPage },
  {
    path: /^\/admin\/deliveries\/?$/,
    nav: "/admin/deliveries",
    title: "Deliveries",
    scope: "webhooks:read",
    page: DeliveriesPage,
  },
  {
    path: /^\/admin\/deliveries\/([^/]+)$/,
    title: "Delivery",
    scope: "webhooks:read",
    page: DeliveryPage,
  },
  {
    path: /^\/admin\/bots\/?$/,
    nav: "/admin/bots",
    title: "Bots",
    scope: "admin",
    page: BotsPage,
  },
  { path: /^\/admin\/bots\/([^/]+)$/, title: "Bot", scope: "admin", page: BotPage },
  {
    path: /^\/admin\/channels\/?$/,
    nav: "/admin/channels",
    title: "Channels",
    scope: "admin",
    page: ChannelsPage,
  },
  {
    path: /^\/admin\/webhooks\/?$/,
    nav: "/admin/webhooks",
    title: "Webhooks",
    scope: "webhooks:read",
    page: WebhooksPage,
  },
  {
    path: /^\/admin\/notifications\/?$/,
    nav: "/admin/notifications",
    title: "Notifications",
    scope: "webhooks:read",
    page: NotificationsPage,
  },
  {
    path: /^\/admin\/knowledge\/?$/,
    nav: "/admin/knowledge",
    title: "Documents and skills",
    scope: "documents:read",
    page: KnowledgePage,
  },
  {
    path: /^\/admin\/keys\/?$/,
    nav: "/admin/keys",
    title: "API keys",
    scope: "admin",
    page: KeysPage,
  },
];

// Same-origin links inside /admin are handled here (keyboard Enter on a link clicks too).
document.addEventListener("click", (e) => {
  const a = e.target.closest?.("a[href]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/admin")) return;
  // A link to a part of this page (#id) is the browser's own.
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

function SignIn({ onSignedIn }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      onSignedIn(await api("POST", "/api/v1/auth/session", { api_key: key }));
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401 ? "That API key is not valid." : err.message,
      );
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin" id="main">
    <h1>Sign in to switchyard</h1>
    <form onSubmit=${submit}>
      <div class="field">
        <label for="api-key">API key</label>
        <input id="api-key" name="api_key" type="password" autocomplete="current-password" required
          aria-describedby="api-key-hint${error ? " signin-error" : ""}" value=${key} onInput=${(e) => setKey(e.target.value)} />
        <span id="api-key-hint" class="hint">The key is exchanged for a session cookie; it is not stored in the browser.
          Where the key is: <a href="/about">/about</a>.</span>
      </div>
      ${error && html`<p id="signin-error" class="error" role="alert">${error}</p>`}
      <button class="primary" type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

function Nav({ me, path, sections }) {
  const item = (r) => {
    const allowed = !r.scope || scopeAllows(me.scopes, r.scope);
    if (!allowed) {
      return html`<li><span class="off" aria-disabled="true">${r.title}<span class="hint"> (needs ${r.scope})</span></span></li>`;
    }
    const current =
      r.nav === "/admin" ? path === "/admin" || path === "/admin/" : path.startsWith(r.nav);
    return html`<li><a href=${r.nav} aria-current=${current ? "page" : undefined}>${r.title}</a></li>`;
  };
  return html`<nav class="side" aria-label="Main">
    <ul>${ROUTES.filter((r) => r.nav).map(item)}</ul>
    ${
      sections.length > 0 &&
      html`<h2 id="nav-integrations">Integrations</h2>
      <ul aria-labelledby="nav-integrations">
        ${sections.map(
          (s) => html`<li><a href=${`/admin/integrations/${encodeURIComponent(s.integration)}`}
            aria-current=${path === `/admin/integrations/${s.integration}` ? "page" : undefined}>${s.title ?? s.integration}</a></li>`,
        )}
      </ul>`
    }
  </nav>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  const [path, setPath] = useState(location.pathname);
  const [sections, setSections] = useState([]);
  useEffect(() => {
    api("GET", "/api/v1/auth/session").then(setMe, () => setMe(null));
    const onPop = () => setPath(location.pathname);
    const onOut = () => setMe(null);
    window.addEventListener("popstate", onPop);
    window.addEventListener("signed-out", onOut);
    return () => {
      window.removeEventListener("popstate", onPop);
      window.removeEventListener("signed-out", onOut);
    };
  }, []);
  useEffect(() => {
    if (me && scopeAllows(me.scopes, "admin")) {
      api("GET", "/api/v1/admin/integrations/sidebar-sections").then(setSections, () =>
        setSections([]),
      );
    }
  }, [me]);
  if (me === undefined) return html`<p class="loading">Loading…</p>`;
  if (me === null) return html`<${SignIn} onSignedIn=${setMe} />`;
  const signOut = async () => {
    closeStream();
    await api("DELETE", "/api/v1/auth/session").catch(() => {});
    setMe(null);
  };
  const route = ROUTES.find((r) => r.path.test(path));
  let body;
  if (!route)
    body = html`<h1>Not found</h1><p>No page at ${path}. <a href="/admin">Overview</a></p>`;
  else if (route.scope && !scopeAllows(me.scopes, route.scope)) {
    body = html`<h1>${route.title}</h1><p>This page needs the <code>${route.scope}</code> scope; the key “${me.key_name}” has ${me.scopes.join(", ")}.</p>`;
  } else {
    const m = route.path.exec(path);
    body = html`<${route.page} me=${me} param=${m[1] ? decodeURIComponent(m[1]) : undefined} key=${path} />`;
  }
  return html`<a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="/admin">switchyard</a>
      <div class="copy">
        <span>Signed in with <strong>${me.key_name}</strong> <span class="hint">(${me.scopes.join(", ")})</span></span>
        <button type="button" onClick=${signOut}>Sign out</button>
      </div>
    </header>
    <div class="layout">
      <${Nav} me=${me} path=${path} sections=${sections} />
      <main id="main" tabindex="-1">${body}</main>
    </div>`;
}

render(html`<${App} />`, document.getElementById("app"));
