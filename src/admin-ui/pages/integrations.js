// Integrations: every discovered folder with its status and load errors; one integration's
// page with its settings form, webhook URL, process (status, recent output, start, stop,
// restart) and adapter status, dashboard modules.
import { useEffect, useState } from "preact/hooks";
import { api, subscribe } from "../api.js";
import { html } from "../html.js";
import { DashboardModule } from "./dashboard-module.js";
import { SettingsForm } from "./settings-form.js";

function useIntegrations() {
  const [list, setList] = useState(undefined);
  const [error, setError] = useState("");
  useEffect(() => {
    const load = () =>
      api("GET", "/api/v1/admin/integrations").then(setList, (e) => setError(e.message));
    load();
    return subscribe((type) => type === "integration" && load(), load);
  }, []);
  return { list, error, reload: () => api("GET", "/api/v1/admin/integrations").then(setList) };
}

const Status = ({ value }) => html`<span class=${`status status-${value}`}>${value}</span>`;

function Errors({ errors }) {
  if (!errors?.length) return "";
  return html`<ul class="error">${errors.map((e) => html`<li><code>${e.file}</code>: ${e.reason}</li>`)}</ul>`;
}

/** The list of integrations. */
export function IntegrationsPage() {
  const { list, error } = useIntegrations();
  if (error) return html`<h1>Integrations</h1><p class="error">${error}</p>`;
  if (!list) return html`<h1>Integrations</h1><p class="hint">Loading…</p>`;
  return html`<h1>Integrations</h1>
    <div class="scroll"><table>
      <caption class="sr-only">Discovered integration folders</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Parts</th><th scope="col">Adapter</th><th scope="col">Load errors</th></tr></thead>
      <tbody>${list.map(
        (i) => html`<tr>
          <td><a href=${`/admin/integrations/${encodeURIComponent(i.folder)}`}>${i.name ?? i.folder}</a><br /><span class="hint">${i.source}</span></td>
          <td><${Status} value=${i.status} /></td>
          <td>${i.parts.join(", ")}</td>
          <td>${i.adapter ? i.adapter.state : "—"}</td>
          <td><${Errors} errors=${i.errors} /></td>
        </tr>`,
      )}</tbody>
    </table></div>`;
}

function Copy({ text, label }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    await navigator.clipboard?.writeText(text).catch(() => {});
    setDone(true);
  };
  return html`<span class="copy"><code>${text}</code><button type="button" onClick=${copy} aria-label=${`Copy ${label}`}>Copy</button>${done && html`<span role="status">Copied</span>`}</span>`;
}

/**
 * The process's recent output on this instance (GET …/process/output), re-read with the
 * Refresh button and after each start, stop or restart (`version`).
 */
function ProcessOutput({ folder, version }) {
  const [lines, setLines] = useState(undefined);
  const load = () =>
    api("GET", `/api/v1/admin/integrations/${encodeURIComponent(folder)}/process/output`).then(
      setLines,
      () => setLines([]),
    );
  useEffect(() => {
    load();
  }, [folder, version]);
  return html`<h3 id="proc-out-h">Recent output</h3>
    <p><button type="button" onClick=${load}>Refresh output</button></p>
    ${
      !lines
        ? html`<p class="hint">Loading…</p>`
        : lines.length === 0
          ? html`<p class="hint">No output on this instance yet.</p>`
          : html`<pre class="output" tabindex="0" aria-labelledby="proc-out-h" data-testid="process-output">${lines
              .map((l) => `${l.at.slice(11, 19)} ${l.stream === "stderr" ? "!" : " "} ${l.line}`)
              .join("\n")}</pre>`
    }
    <p class="hint">The newest 200 lines this instance saw (times UTC; "!" marks stderr).</p>`;
}

/** One integration. */
export function IntegrationPage({ param }) {
  const { list, error, reload } = useIntegrations();
  const [modules, setModules] = useState([]);
  const [procMsg, setProcMsg] = useState("");
  const [procRuns, setProcRuns] = useState(0);
  useEffect(() => {
    api("GET", "/api/v1/admin/integrations/dashboard-modules").then(
      (all) => setModules(all.filter((m) => m.integration === param)),
      () => {},
    );
  }, [param]);
  if (error) return html`<h1>Integration</h1><p class="error">${error}</p>`;
  if (!list) return html`<h1>Integration</h1><p class="hint">Loading…</p>`;
  const i = list.find((x) => x.folder === param);
  if (!i)
    return html`<h1>Integration</h1><p>No integration ${param}. <a href="/admin/integrations">All integrations</a></p>`;
  const proc = async (action) => {
    setProcMsg("");
    try {
      await api(
        "POST",
        `/api/v1/admin/integrations/${encodeURIComponent(i.folder)}/process/${action}`,
      );
      reload();
      setProcRuns((n) => n + 1);
    } catch (e) {
      setProcMsg(e.message);
    }
  };
  return html`<h1>${i.name ?? i.folder}</h1>
    <p>Status: <span data-testid="integration-status"><${Status} value=${i.status} /></span> · version ${i.version ?? "—"} · <span class="hint">${i.source}</span></p>
    <${Errors} errors=${i.errors} />
    ${i.warnings?.length > 0 && html`<ul>${i.warnings.map((w) => html`<li>${typeof w === "string" ? w : JSON.stringify(w)}</li>`)}</ul>`}
    ${i.webhook_url && html`<h2>Webhook URL</h2><p>Paste this into the outside service: <${Copy} text=${i.webhook_url} label="webhook URL" /></p>`}
    <h2>Adapter</h2>
    <p>${i.adapter ? html`${i.adapter.kind} <${Status} value=${i.adapter.state} />${i.adapter.error ? html` — <span class="error">${i.adapter.error}</span>` : ""}` : "No adapter."}</p>
    <h2>Process</h2>
    ${
      i.process
        ? html`<p><${Status} value=${i.process.state} /> ${i.process.pid ? `pid ${i.process.pid}` : ""}</p>
          <p class="copy">${["start", "stop", "restart"].map((a) => html`<button type="button" onClick=${() => proc(a)}>${a[0].toUpperCase() + a.slice(1)}</button>`)}</p>
          ${procMsg && html`<p class="error" role="alert">${procMsg}</p>`}
          <${ProcessOutput} folder=${i.folder} version=${procRuns} />`
        : html`<p>No process.</p>`
    }
    <h2>Settings</h2>
    <${SettingsForm} id=${i.folder} onSaved=${reload} />
    ${modules.length > 0 && html`<h2>Dashboard</h2><div class="cards">${modules.map((m) => html`<${DashboardModule} name=${i.folder} module=${m} />`)}</div>`}`;
}
