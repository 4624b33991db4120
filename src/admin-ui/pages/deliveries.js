// Deliveries: the outbox, filtered by status and target type, updated live; a delivery's
// payload, target and attempts on tabs; replay one or many settled ones.
// Each attempt (GET /api/v1/deliveries/{id}/attempts): its outcome, request headers (secrets
// masked by the server) and a response body excerpt, folded on the Attempts tab.
import { useEffect, useState } from "preact/hooks";
import { api, scopeAllows, subscribe, when } from "../api.js";
import { html } from "../html.js";
import { ErrorLine, Field, Json, OkLine, Status, Tabs } from "./parts.js";

const STATUSES = ["pending", "failed", "dead", "delivered"];
const replayable = (d) => d.status === "dead" || d.status === "failed" || d.status === "delivered";
const liveFields = (data) => ({
  status: data.status,
  attempts: data.attempts,
  last_error: data.last_error,
});

/** The deliveries list. */
export function DeliveriesPage({ me }) {
  const initial = new URLSearchParams(location.search);
  const [q, setQ] = useState({
    status: initial.get("status") ?? "",
    target_type: initial.get("target_type") ?? "",
  });
  const [list, setList] = useState(undefined);
  const [picked, setPicked] = useState([]);
  const [msg, setMsg] = useState({});
  const canReplay = scopeAllows(me.scopes, "webhooks:write");
  const load = (query = q) => {
    const p = new URLSearchParams({ limit: "100" });
    for (const [k, v] of Object.entries(query)) if (v) p.set(k, v);
    api("GET", `/api/v1/deliveries?${p}`).then(setList, (e) => setMsg({ error: e.message }));
  };
  useEffect(() => {
    load();
    return subscribe(
      (type, data) => {
        if (type === "delivery")
          setList((l) => l?.map((d) => (d.id === data.id ? { ...d, ...liveFields(data) } : d)));
      },
      () => load(),
    );
  }, []);
  const replay = async (ids) => {
    setMsg({});
    const failed = [];
    for (const id of ids) {
      try {
        const d = await api("POST", `/api/v1/deliveries/${encodeURIComponent(id)}/replay`);
        setList((l) => l.map((x) => (x.id === id ? d : x)));
      } catch (e) {
        failed.push(`${id}: ${e.message}`);
      }
    }
    setPicked([]);
    if (failed.length) setMsg({ error: `Not replayed: ${failed.join("; ")}` });
    else
      setMsg({ ok: `${ids.length} ${ids.length === 1 ? "delivery" : "deliveries"} queued again.` });
  };
  const toggle = (id) =>
    setPicked(picked.includes(id) ? picked.filter((x) => x !== id) : [...picked, id]);
  const dead = (list ?? []).filter((d) => d.status === "dead").map((d) => d.id);
  return html`<h1>Deliveries</h1>
    <form class="filters" role="search" aria-label="Filter deliveries" onSubmit=${(e) => {
      e.preventDefault();
      load();
    }}>
      <${Field} id="d-status" label="Status"><select id="d-status" value=${q.status} onChange=${(e) => setQ({ ...q, status: e.target.value })}>
        <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}</select></${Field}>
      <${Field} id="d-target" label="Target type"><input id="d-target" placeholder="e.g. webhook, event, adapter" value=${q.target_type}
        onInput=${(e) => setQ({ ...q, target_type: e.target.value })} /></${Field}>
      <button type="submit">Filter</button>
    </form>
    ${!canReplay && html`<p class="hint">Replaying needs the webhooks:write scope.</p>`}
    <p class="copy">
      <button type="button" disabled=${!canReplay || picked.length === 0} onClick=${() => replay(picked)}>Replay selected (${picked.length})</button>
      <button type="button" disabled=${!canReplay || dead.length === 0} onClick=${() => replay(dead)}>Replay all dead shown (${dead.length})</button>
    </p>
    <${ErrorLine} error=${msg.error} /><${OkLine} ok=${msg.ok} />
    ${
      list &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Deliveries, newest first</caption>
        <thead><tr><th scope="col"><span class="sr-only">Select</span></th><th scope="col">Delivery</th><th scope="col">Target</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last result</th><th scope="col">Updated</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${list.map(
          (d) => html`<tr data-delivery=${d.id}>
            <td>${replayable(d) && html`<input type="checkbox" aria-label=${`Select delivery ${d.id}`} checked=${picked.includes(d.id)} onChange=${() => toggle(d.id)} />`}</td>
            <td><a href=${`/admin/deliveries/${encodeURIComponent(d.id)}`}><code>${d.id.slice(0, 13)}…</code></a></td>
            <td>${d.target_type}<br /><span class="hint">${d.destination ?? ""}</span></td>
            <td data-testid="delivery-status"><${Status} value=${d.status} /></td>
            <td>${d.attempts}</td>
            <td>${d.last_status ?? ""} ${d.last_error ? html`<span class="error">${d.last_error}</span>` : ""}</td>
            <td>${when(d.updated_at)}</td>
            <td>${replayable(d) && html`<button type="button" disabled=${!canReplay} onClick=${() => replay([d.id])} aria-label=${`Replay delivery ${d.id}`}>Replay</button>`}</td>
          </tr>`,
        )}</tbody></table></div>
        ${list.length === 0 && html`<p class="hint">No deliveries match.</p>`}`
    }`;
}

/** Request headers (secret values already masked by the server) as a table. */
function Headers({ headers, caption }) {
  return html`<div class="scroll"><table>
    <caption class="sr-only">${caption}</caption>
    <thead><tr><th scope="col">Header</th><th scope="col">Value</th></tr></thead>
    <tbody>${Object.entries(headers).map(([k, v]) => html`<tr><td><code>${k}</code></td><td><code>${v}</code></td></tr>`)}</tbody>
  </table></div>`;
}

/** One recorded attempt (GET /api/v1/deliveries/{id}/attempts), folded. */
function AttemptDetails({ a }) {
  return html`<details data-attempt=${a.attempt}><summary>Attempt ${a.attempt} — <${Status} value=${a.status} />
      ${a.http_status != null ? ` HTTP ${a.http_status}` : ""} · ${a.duration_ms} ms · ${when(a.started_at)}</summary>
    ${a.error && html`<p class="error">${a.error}</p>`}
    ${
      a.request
        ? html`<p>${a.request.method} <code>${a.request.url}</code>${a.requests > 1 ? ` (last of ${a.requests} requests)` : ""}</p>
          <${Headers} headers=${a.request.headers} caption=${`Request headers of attempt ${a.attempt}`} />
          <p>Response body${a.response?.truncated ? " (first 2048 characters)" : ""}</p>
          <pre data-testid="response-excerpt">${a.response?.body_excerpt ?? "—"}</pre>`
        : html`<p class="hint">No HTTP request went through the server's client in this attempt.</p>`
    }
  </details>`;
}

/** One delivery, with tabs. */
export function DeliveryPage({ param, me }) {
  const [d, setD] = useState(undefined);
  const [attempts, setAttempts] = useState(undefined);
  const [tab, setTab] = useState("payload");
  const [msg, setMsg] = useState({});
  const load = () => {
    api("GET", `/api/v1/deliveries/${encodeURIComponent(param)}/attempts`).then(setAttempts, () =>
      setAttempts([]),
    );
    return api("GET", `/api/v1/deliveries/${encodeURIComponent(param)}`).then(setD, (e) =>
      setMsg({ error: e.message }),
    );
  };
  useEffect(() => {
    load();
    return subscribe((type, data) => type === "delivery" && data.id === param && load(), load);
  }, [param]);
  if (!d)
    return html`<h1>Delivery</h1>${msg.error ? html`<${ErrorLine} error=${msg.error} />` : html`<p class="hint">Loading…</p>`}`;
  const replay = async () => {
    setMsg({});
    try {
      setD({
        ...d,
        ...(await api("POST", `/api/v1/deliveries/${encodeURIComponent(d.id)}/replay`)),
      });
      setMsg({ ok: "Queued again." });
    } catch (e) {
      setMsg({ error: e.message });
    }
  };
  const lastRequest = attempts?.findLast((a) => a.request)?.request;
  const tabs = [
    {
      id: "payload",
      label: "Payload",
      body: html`<p class="hint">Secret-named fields are masked; URLs cut to their host.</p><${Json} value=${d.payload} />`,
    },
    {
      id: "target",
      label: "Request",
      body: html`${
        lastRequest
          ? html`<p>The latest attempt's request: ${lastRequest.method} <code>${lastRequest.url}</code> (secret values masked; each attempt's on the Attempts tab).</p>
            <${Headers} headers=${lastRequest.headers} caption="Request headers of the latest attempt" />`
          : html`<p class="hint">No request recorded yet.</p>`
      }
        <p>Where the delivery goes, secrets masked:</p>
        <dl><dt>Target type</dt><dd>${d.target_type}</dd><dt>Destination</dt><dd>${d.destination ?? "—"}</dd><dt>Webhook id header</dt><dd><code>${d.id}</code></dd></dl>
        <${Json} value=${d.target} />`,
    },
    {
      id: "attempts",
      label: "Attempts",
      body: html`<dl>
          <dt>Status</dt><dd data-testid="detail-status"><${Status} value=${d.status} /></dd>
          <dt>Attempts</dt><dd>${d.attempts}</dd>
          <dt>Last HTTP status</dt><dd>${d.last_status ?? "—"}</dd>
          <dt>Last error</dt><dd>${d.last_error ?? "—"}</dd>
          <dt>Next attempt</dt><dd>${when(d.next_attempt_at)}</dd>
          <dt>Delivered</dt><dd>${when(d.delivered_at)}</dd>
          <dt>Created</dt><dd>${when(d.created_at)}</dd>
        </dl>
        ${
          attempts?.length
            ? attempts.map((a) => html`<${AttemptDetails} a=${a} />`)
            : html`<p class="hint">No attempt recorded (attempts before the server kept them have none).</p>`
        }`,
    },
  ];
  return html`<h1>Delivery <code>${d.id.slice(0, 13)}…</code></h1>
    <p><a href="/admin/deliveries">All deliveries</a> · <${Status} value=${d.status} /> · ${d.target_type}
      ${d.task_id && html` · task <a href=${`/admin/tasks/${encodeURIComponent(d.task_id)}`}><code>${d.task_id}</code></a>`}</p>
    ${replayable(d) && html`<p><button type="button" disabled=${!scopeAllows(me.scopes, "webhooks:write")} onClick=${replay}>Replay</button></p>`}
    <${ErrorLine} error=${msg.error} /><${OkLine} ok=${msg.ok} />
    <${Tabs} label="Delivery details" tabs=${tabs} current=${tab} onSelect=${setTab} />`;
}
