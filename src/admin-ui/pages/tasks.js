// Tasks: filter by status, bot and session; cancel a pending or running one; each links to
// its page with the timeline (./task.js). Updates live.
import { useEffect, useState } from "preact/hooks";
import { api, scopeAllows, subscribe, when } from "../api.js";
import { html } from "../html.js";

const STATUSES = ["pending", "running", "waiting_approval", "complete", "failed", "cancelled"];

/** The tasks page. */
export function TasksPage({ me }) {
  const initial = new URLSearchParams(location.search);
  const [q, setQ] = useState({
    status: initial.get("status") ?? "",
    bot: initial.get("bot") ?? "",
    session_id: initial.get("session_id") ?? "",
  });
  const [list, setList] = useState(undefined);
  const [error, setError] = useState("");
  const canCancel = scopeAllows(me.scopes, "tasks:write");
  const load = (query = q) => {
    const p = new URLSearchParams({ limit: "100" });
    for (const [k, v] of Object.entries(query)) if (v) p.set(k, v);
    api("GET", `/api/v1/tasks?${p}`).then(
      (r) => setList(r.items),
      (e) => setError(e.message),
    );
  };
  useEffect(() => {
    load();
    return subscribe(
      (type, data) => {
        if (type === "task")
          setList((l) => l?.map((t) => (t.id === data.id ? { ...t, ...data } : t)));
      },
      () => load(),
    );
  }, []);
  const cancel = async (id) => {
    setError("");
    try {
      const t = await api("POST", `/api/v1/tasks/${encodeURIComponent(id)}/cancel`);
      setList((l) => l.map((x) => (x.id === id ? t : x)));
    } catch (e) {
      setError(e.message);
    }
  };
  const field = (name, label, input) =>
    html`<div class="field"><label for=${`t-${name}`}>${label}</label>${input}</div>`;
  return html`<h1>Tasks</h1>
    <form class="filters" role="search" onSubmit=${(e) => {
      e.preventDefault();
      load();
    }}>
      ${field(
        "status",
        "Status",
        html`<select id="t-status" value=${q.status} onChange=${(e) => setQ({ ...q, status: e.target.value })}>
        <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}</select>`,
      )}
      ${field("bot", "Bot", html`<input id="t-bot" value=${q.bot} onInput=${(e) => setQ({ ...q, bot: e.target.value })} />`)}
      ${field("session", "Session id", html`<input id="t-session" value=${q.session_id} onInput=${(e) => setQ({ ...q, session_id: e.target.value })} />`)}
      <button type="submit">Filter</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${!canCancel && html`<p class="hint">Cancelling needs the tasks:write scope.</p>`}
    ${
      list &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Tasks, newest first</caption>
        <thead><tr><th scope="col">Task</th><th scope="col">Status</th><th scope="col">Bot</th><th scope="col">Session</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${list.map(
          (t) => html`<tr>
            <td><a href=${`/admin/tasks/${encodeURIComponent(t.id)}`}><code>${t.id}</code></a>${t.error ? html`<br /><span class="error">${t.error}</span>` : ""}</td>
            <td><span class=${`status status-${t.status}`}>${t.status}</span></td>
            <td>${t.bot_id}</td>
            <td><a href=${`/admin/sessions/${encodeURIComponent(t.session_id)}`}>session</a></td>
            <td>${when(t.created_at)}</td>
            <td>${["pending", "running", "waiting_approval"].includes(t.status) && html`<button type="button" disabled=${!canCancel} onClick=${() => cancel(t.id)} aria-label=${`Cancel task ${t.id}`}>Cancel</button>`}</td>
          </tr>`,
        )}</tbody></table></div>
        ${list.length === 0 && html`<p class="hint">No tasks match.</p>`}`
    }`;
}
