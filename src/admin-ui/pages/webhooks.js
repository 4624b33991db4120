// Webhooks: event subscriptions (/api/v1/webhooks) — register (URL, events, secret), set or
// remove a secret (the secret is write-only: only has_secret comes back), delete, and each
// one's last deliveries (/api/v1/deliveries?subscription_id=…).
import { useEffect, useState } from "preact/hooks";
import { api, scopeAllows, when } from "../api.js";
import { html } from "../html.js";
import { ErrorLine, Field, OkLine, Status } from "./parts.js";

/** The event names, from the OpenAPI document's schema of POST /api/v1/webhooks. */
async function eventNames() {
  const doc = await api("GET", "/api/v1/openapi.json");
  const schema =
    doc.paths?.["/api/v1/webhooks"]?.post?.requestBody?.content?.["application/json"]?.schema;
  return schema?.properties?.events?.items?.enum ?? [];
}

function LastDeliveries({ id }) {
  const [list, setList] = useState(undefined);
  useEffect(() => {
    api("GET", `/api/v1/deliveries?subscription_id=${encodeURIComponent(id)}&limit=5`).then(
      setList,
      () => setList([]),
    );
  }, [id]);
  if (!list) return html`<span class="hint">Loading…</span>`;
  if (list.length === 0) return html`<span class="hint">None yet.</span>`;
  return html`<ul class="plain">${list.map(
    (d) =>
      html`<li><a href=${`/admin/deliveries/${encodeURIComponent(d.id)}`}><${Status} value=${d.status} /></a> ${when(d.created_at)}${d.last_status ? ` · HTTP ${d.last_status}` : ""}</li>`,
  )}</ul>`;
}

function SecretForm({ w, onDone }) {
  const [secret, setSecret] = useState("");
  const [error, setError] = useState("");
  const send = async (value) => {
    setError("");
    try {
      await api("POST", "/api/v1/webhooks", { url: w.url, secret: value });
      setSecret("");
      onDone();
    } catch (e) {
      setError(e.message);
    }
  };
  const id = `secret-${w.id}`;
  return html`<form class="copy" aria-label=${`Secret of ${w.url}`} onSubmit=${(e) => {
    e.preventDefault();
    if (secret) send(secret);
  }}>
    <label for=${id} class="sr-only">New secret for ${w.url}</label>
    <input id=${id} type="password" autocomplete="off" placeholder="new secret" value=${secret} onInput=${(e) => setSecret(e.target.value)} />
    <button type="submit" disabled=${!secret}>Set secret</button>
    ${w.has_secret && html`<button type="button" onClick=${() => send("")}>Remove secret</button>`}
    <${ErrorLine} error=${error} />
  </form>`;
}

/** The webhooks page. */
export function WebhooksPage({ me }) {
  const [list, setList] = useState(undefined);
  const [events, setEvents] = useState([]);
  const [draft, setDraft] = useState({ url: "", events: [], secret: "" });
  const [msg, setMsg] = useState({});
  const canWrite = scopeAllows(me.scopes, "webhooks:write");
  const load = () =>
    api("GET", "/api/v1/webhooks").then(setList, (e) => setMsg({ error: e.message }));
  useEffect(() => {
    load();
    eventNames().then(setEvents, () => {});
  }, []);
  const register = async (e) => {
    e.preventDefault();
    setMsg({});
    const body = { url: draft.url };
    if (draft.events.length) body.events = draft.events;
    if (draft.secret) body.secret = draft.secret;
    try {
      const r = await api("POST", "/api/v1/webhooks", body);
      setDraft({ url: "", events: [], secret: "" });
      setMsg({ ok: r.created ? "Webhook registered." : "Webhook updated (same URL)." });
      load();
    } catch (err) {
      setMsg({ error: err.message });
    }
  };
  const remove = async (w) => {
    if (!confirm(`Delete the webhook to ${w.url}?`)) return;
    try {
      await api("DELETE", `/api/v1/webhooks/${encodeURIComponent(w.id)}`);
      load();
    } catch (err) {
      setMsg({ error: err.message });
    }
  };
  const toggle = (ev) =>
    setDraft({
      ...draft,
      events: draft.events.includes(ev)
        ? draft.events.filter((x) => x !== ev)
        : [...draft.events, ev],
    });
  return html`<h1>Webhooks</h1>
    ${!canWrite && html`<p class="hint">Registering, changing and deleting need the webhooks:write scope.</p>`}
    <${ErrorLine} error=${msg.error} /><${OkLine} ok=${msg.ok} />
    ${
      list &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Event webhooks</caption>
        <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Secret</th><th scope="col">Last deliveries</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${list.map(
          (w) => html`<tr data-webhook=${w.url}>
            <td><code>${w.url}</code>${w.disabled_at ? html`<br /><span class="error">disabled ${when(w.disabled_at)}</span>` : ""}</td>
            <td>${w.events.length ? w.events.join(", ") : "all events"}</td>
            <td><span data-testid="has-secret">${w.has_secret ? "set (never shown)" : "none"}</span>
              ${canWrite && html`<${SecretForm} w=${w} onDone=${load} />`}</td>
            <td><${LastDeliveries} id=${w.id} /></td>
            <td><button type="button" disabled=${!canWrite} onClick=${() => remove(w)} aria-label=${`Delete webhook ${w.url}`}>Delete</button></td>
          </tr>`,
        )}</tbody></table></div>
        ${list.length === 0 && html`<p class="hint">No webhooks registered.</p>`}`
    }
    <section aria-labelledby="wh-new-h"><h2 id="wh-new-h">Register a webhook</h2>
      <form onSubmit=${register}>
        <${Field} id="wh-url" label="URL" hint="Registering a URL that exists updates it.">
          <input id="wh-url" type="url" required aria-describedby="wh-url-hint" value=${draft.url} onInput=${(e) => setDraft({ ...draft, url: e.target.value })} /></${Field}>
        <fieldset class="field picker"><legend>Events (none ticked: all events)</legend>
          ${events.map((ev) => html`<span class="pick"><input type="checkbox" id=${`wh-ev-${ev}`} checked=${draft.events.includes(ev)} onChange=${() => toggle(ev)} /> <label for=${`wh-ev-${ev}`}>${ev}</label></span>`)}
        </fieldset>
        <${Field} id="wh-secret" label="Secret (optional)" hint="Signs each delivery (Standard Webhooks); write-only, never shown again.">
          <input id="wh-secret" type="password" autocomplete="off" aria-describedby="wh-secret-hint" value=${draft.secret} onInput=${(e) => setDraft({ ...draft, secret: e.target.value })} /></${Field}>
        <button class="primary" type="submit" disabled=${!canWrite}>Register webhook</button>
      </form>
    </section>`;
}
