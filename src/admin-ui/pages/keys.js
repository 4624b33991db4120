// API keys: create (the key is shown once), revoke, last used.
import { useEffect, useState } from "preact/hooks";
import { api, when } from "../api.js";
import { html } from "../html.js";

const SCOPES = [
  "sessions:read",
  "sessions:write",
  "tasks:read",
  "tasks:write",
  "documents:read",
  "documents:write",
  "webhooks:read",
  "webhooks:write",
  "admin",
];

/** The API keys page. */
export function KeysPage() {
  const [list, setList] = useState(undefined);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState([]);
  const [created, setCreated] = useState(undefined);
  const [error, setError] = useState("");
  const load = () => api("GET", "/api/v1/admin/keys").then(setList, (e) => setError(e.message));
  useEffect(() => {
    load();
  }, []);
  const create = async (e) => {
    e.preventDefault();
    setError("");
    try {
      setCreated(await api("POST", "/api/v1/admin/keys", { name, scopes }));
      setName("");
      setScopes([]);
      load();
    } catch (err) {
      setError(err.message);
    }
  };
  const revoke = async (k) => {
    if (!confirm(`Revoke the key “${k.name}”? Requests with it are refused from now on.`)) return;
    setError("");
    try {
      await api("DELETE", `/api/v1/admin/keys/${encodeURIComponent(k.id)}`);
      load();
    } catch (err) {
      setError(err.message);
    }
  };
  const toggle = (s) =>
    setScopes(scopes.includes(s) ? scopes.filter((x) => x !== s) : [...scopes, s]);
  return html`<h1>API keys</h1>
    <section aria-labelledby="new-key-h"><h2 id="new-key-h">Create a key</h2>
      <form onSubmit=${create}>
        <div class="field"><label for="key-name">Name</label><input id="key-name" required value=${name} onInput=${(e) => setName(e.target.value)} /></div>
        <fieldset class="field"><legend>Scopes</legend>
          ${SCOPES.map((s) => html`<span><input type="checkbox" id=${`scope-${s}`} checked=${scopes.includes(s)} onChange=${() => toggle(s)} /> <label for=${`scope-${s}`}>${s}</label></span>`)}
        </fieldset>
        <button class="primary" type="submit" disabled=${!name || scopes.length === 0}>Create key</button>
      </form>
      ${created && html`<div class="card" role="status"><p>Key <strong>${created.name}</strong> created. Copy it now: it is shown this once.</p><p><code data-testid="new-key">${created.key}</code></p></div>`}
    </section>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <section aria-labelledby="keys-h"><h2 id="keys-h">Keys in force</h2>
      ${
        list &&
        html`<div class="scroll"><table>
          <thead><tr><th scope="col">Name</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${list.map(
            (
              k,
            ) => html`<tr><td>${k.name}</td><td>${k.scopes.join(", ")}</td><td>${when(k.created_at)}</td><td>${k.last_used_at ? when(k.last_used_at) : "never"}</td>
              <td><button type="button" onClick=${() => revoke(k)} aria-label=${`Revoke ${k.name}`}>Revoke</button></td></tr>`,
          )}</tbody></table></div>`
      }
      <p class="hint">The server's own SWITCHYARD_API_KEY, if set, is not listed and cannot be revoked here.</p>
    </section>`;
}
