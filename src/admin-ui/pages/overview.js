// Overview: health, instances, queue depth, turns per minute, failed tasks, dead deliveries,
// pending approvals, integrations — each a link — the live instances, and the model
// endpoints with whether they answered at the server's start-up check.
import { useEffect, useState } from "preact/hooks";
import { api, scopeAllows, when } from "../api.js";
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

/** The model endpoints of the bots, as the last start-up check found them (no probe here). */
function Models({ result, why }) {
  return html`<section aria-labelledby="models-h"><h2 id="models-h"><a href="/admin/bots">Model endpoints</a></h2>
    ${why && html`<p class="hint">${why}</p>`}
    ${result && !result.checked_at && html`<p class="hint">Not checked on this instance (the check runs when <code>switchyard serve</code> starts).</p>`}
    ${
      result?.checked_at &&
      html`<p class="hint">As found at start-up, ${when(result.checked_at)}.</p>
      <div class="scroll"><table>
        <caption class="sr-only">Model endpoints</caption>
        <thead><tr><th scope="col">Model</th><th scope="col">Endpoint</th><th scope="col">Answers</th><th scope="col">Bots</th></tr></thead>
        <tbody>${result.models.map(
          (m) => html`<tr><td><code>${m.spec}</code></td><td>${m.endpoint || "—"}</td>
            <td data-testid="model-ok">${m.ok ? html`<span class="status status-ready">yes</span>` : html`<span class="status status-failed">no</span> <span class="error">${m.reason}</span>`}</td>
            <td>${m.bots.map((b) => `${b.id}${b.fallback ? " (fallback)" : ""}`).join(", ")}</td></tr>`,
        )}</tbody></table></div>`
    }
  </section>`;
}

/** The servers sharing this database (GET /api/v1/admin/instances). */
function Instances({ list, why }) {
  return html`<section aria-labelledby="instances-h"><h2 id="instances-h">Instances</h2>
    ${why && html`<p class="hint">${why}</p>`}
    ${
      list &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Live instances</caption>
        <thead><tr><th scope="col">Instance</th><th scope="col">Host</th><th scope="col">Version</th><th scope="col">Started</th><th scope="col">Last heartbeat</th><th scope="col">Running tasks</th><th scope="col">Leases held</th></tr></thead>
        <tbody>${list.map(
          (
            i,
          ) => html`<tr data-instance=${i.id}><td><code>${i.id}</code></td><td>${i.hostname}</td><td>${i.version}</td>
            <td>${when(i.started_at)}</td><td>${when(i.last_heartbeat_at)}</td><td>${i.tasks_running}</td>
            <td>${i.holds.length ? i.holds.map((h) => html`<code>${h}</code> `) : "—"}</td></tr>`,
        )}</tbody></table></div>
        ${list.length === 0 && html`<p class="hint">No instance has sent a heartbeat lately.</p>`}`
    }
  </section>`;
}

/** The window "turns per minute" counts over, ms. */
const TURN_WINDOW_MS = 60_000;

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
      const since = new Date(Date.now() - TURN_WINDOW_MS).toISOString();
      count(`/api/v1/tasks?since=${encodeURIComponent(since)}&limit=200`).then(
        put("turns"),
        () => {},
      );
    }
    if (scopeAllows(me.scopes, "approvals:read")) {
      count("/api/v1/approvals?status=pending&limit=200").then(put("approvals"), () => {});
    }
    if (scopeAllows(me.scopes, "webhooks:read")) {
      count("/api/v1/deliveries?status=dead&limit=200").then(put("dead"), () => {});
    }
    if (scopeAllows(me.scopes, "admin")) {
      api("GET", "/api/v1/admin/models").then(put("models"), () => {});
      api("GET", "/api/v1/admin/instances").then(put("instances"), () => {});
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
      <${Card} title="Instances" value=${s.instances?.length} href="#instances-h" why=${need("admin")} />
      <${Card} title="Queue depth (pending)" value=${s.pending} href="/admin/tasks?status=pending" why=${need("tasks:read")} />
      <${Card} title="Running tasks" value=${s.running} href="/admin/tasks?status=running" why=${need("tasks:read")} />
      <${Card} title="Turns per minute" value=${s.turns} href="/admin/tasks" why=${need("tasks:read") ?? "Tasks created in the last minute."} />
      <${Card} title="Failed tasks" value=${s.failed} href="/admin/tasks?status=failed" why=${need("tasks:read")} />
      <${Card} title="Dead deliveries" value=${s.dead} href="/admin/deliveries?status=dead" why=${need("webhooks:read")} />
      <${Card} title="Pending approvals" value=${s.approvals} href="/admin/approvals" why=${need("approvals:read")} />
      <${Card} title="Integrations" value=${s.integrations} href="/admin/integrations" why=${need("admin")} />
    </div>
    <${Instances} list=${s.instances} why=${need("admin")} />
    <${Models} result=${s.models} why=${need("admin")} />`;
}
