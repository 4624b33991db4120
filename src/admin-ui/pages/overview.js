// Overview: health, queue depth, failed tasks, dead deliveries, integrations — each a link —
// and the model endpoints with whether they answered at the server's start-up check.
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
      api("GET", "/api/v1/admin/models").then(put("models"), () => {});
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
      <${Card} title="Dead deliveries" value=${s.dead} href="/admin/deliveries?status=dead" why=${need("webhooks:read")} />
      <${Card} title="Integrations" value=${s.integrations} href="/admin/integrations" why=${need("admin")} />
    </div>
    <${Models} result=${s.models} why=${need("admin")} />`;
}
