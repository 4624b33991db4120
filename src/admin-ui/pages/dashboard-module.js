// An integration's dashboard module: `{id, title, source}` from its setup.ts; the JSON its
// router serves at `source` (a GET under /integrations/<name>/) rendered generically: a
// list of objects as a table, an object as fields, anything else as text.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { html } from "../html.js";

const cell = (v) =>
  v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);

function Json({ data, label }) {
  if (
    Array.isArray(data) &&
    data.length &&
    data.every((r) => r && typeof r === "object" && !Array.isArray(r))
  ) {
    const cols = [...new Set(data.flatMap((r) => Object.keys(r)))];
    return html`<div class="scroll"><table aria-label=${label}>
      <thead><tr>${cols.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
      <tbody>${data.map((r) => html`<tr>${cols.map((c) => html`<td>${cell(r[c])}</td>`)}</tr>`)}</tbody>
    </table></div>`;
  }
  if (Array.isArray(data)) {
    return data.length
      ? html`<ul>${data.map((v) => html`<li>${cell(v)}</li>`)}</ul>`
      : html`<p class="hint">Nothing yet.</p>`;
  }
  if (data && typeof data === "object") {
    return html`<dl>${Object.entries(data).map(([k, v]) => html`<dt>${k}</dt><dd>${cell(v)}</dd>`)}</dl>`;
  }
  return html`<p>${cell(data)}</p>`;
}

/** One dashboard module of integration `name`. */
export function DashboardModule({ name, module }) {
  const [state, setState] = useState({ loading: true });
  const source = typeof module.source === "string" ? module.source : undefined;
  const allowed = source?.startsWith(`/integrations/${name}/`);
  useEffect(() => {
    if (!allowed) return;
    api("GET", source).then(
      (data) => setState({ data }),
      (e) => setState({ error: e.message }),
    );
  }, [source]);
  const headingId = `module-${name}-${module.id}`;
  return html`<section class="card" aria-labelledby=${headingId}>
    <h3 id=${headingId}>${module.title ?? module.id}</h3>
    ${
      !source
        ? html`<p class="hint">This module names no <code>source</code> to show.</p>`
        : !allowed
          ? html`<p class="error">Its source must be a path under /integrations/${name}/.</p>`
          : state.error
            ? html`<p class="error">Could not load ${source}: ${state.error}</p>`
            : state.loading
              ? html`<p class="hint">Loading…</p>`
              : html`<${Json} data=${state.data} label=${module.title ?? module.id} />`
    }
  </section>`;
}
