// Overview: health, queue depth, failed tasks, dead deliveries, integrations — each a link.
import { useEffect, useState } from "preact/hooks";
import { api, scopeAllows } from "../api.js";
import { html } from "../html.js";

/** Counts a filtered list (up to 200; "200+" beyond). */
async function count(path) {
  const r = await api("GET", path);
  const items = Array.isArray(r) ? r : r.items;
  return `${items.length}${r.next_cursor || items.length >= 200 ? "+" : ""}`;
}

function Card({ title, value, href, why }) {
  return html`<div class="card">
    <h2>${href && value !== undefined ? html`<a href=${href}>${title}</a>` : title}</h2>
    <div class="num">${value ?? "—"}</div>
    ${why && html`<p class="hint">${why}</p>`}
  </div>`;
}

/** The overview page. */
export function OverviewPage({ me }) {
  const [s, setS] = useState({});
  useEffect(() => {
    const put = (k) => (v) => setS((o) => ({ ...o, [k]: v }));
    api("GET", "/readyz").then(
      () => put("health")("ready"),
      (e) => put("health")(`not ready: ${e.message}`),
    );
    if (scopeAllows(me.scopes, "tasks:read")) {
      count("/api/v1/tasks?status=pending&limit=200").then(put("pending"), () => {});
      count("/api/v1/tasks?status=running&limit=200").then(put("running"), () => {});
      count("/api/v1/tasks?status=failed&limit=200").then(put("failed"), () => {});
    }
    if (scopeAllows(me.scopes, "webhooks:read")) {
      count("/api/v1/deliveries?status=dead&limit=200").then(put("dead"), () => {});
    }
    if (scopeAllows(me.scopes, "admin")) {
      api("GET", "/api/v1/admin/integrations").then(
        (list) =>
          put("integrations")(
            `${list.filter((i) => i.status === "ready").length} / ${list.length} ready`,
          ),
        () => {},
      );
    }
  }, []);
  const need = (scope) => (scopeAllows(me.scopes, scope) ? undefined : `Needs the ${scope} scope.`);
  return html`<h1>Overview</h1>
    <div class="cards">
      <${Card} title="Health" value=${s.health} href="/readyz" />
      <${Card} title="Queue depth (pending)" value=${s.pending} href="/admin/tasks?status=pending" why=${need("tasks:read")} />
      <${Card} title="Running tasks" value=${s.running} href="/admin/tasks?status=running" why=${need("tasks:read")} />
      <${Card} title="Failed tasks" value=${s.failed} href="/admin/tasks?status=failed" why=${need("tasks:read")} />
      <${Card} title="Dead deliveries" value=${s.dead} href="/api/v1/deliveries?status=dead" why=${need("webhooks:read") ?? "The deliveries page comes in a later round; the link is the API's list."} />
      <${Card} title="Integrations" value=${s.integrations} href="/admin/integrations" why=${need("admin")} />
      <${Card} title="Model endpoints" why="The API does not report whether model endpoints answer yet." />
    </div>`;
}
