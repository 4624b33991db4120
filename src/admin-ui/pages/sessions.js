// Sessions: the list (search by client_id prefix, open/ended) and one session's transcript
// with tool calls folded, attachments, each task's status inline, and a form to send a
// message (with files); new messages and task changes arrive over the live stream.
import { useEffect, useState } from "preact/hooks";
import { api, scopeAllows, subscribe, when } from "../api.js";
import { html } from "../html.js";

/** The session list. */
export function SessionsPage() {
  const [q, setQ] = useState({ client_id: "", status: "" });
  const [list, setList] = useState(undefined);
  const [error, setError] = useState("");
  const load = (query = q) => {
    const p = new URLSearchParams({ limit: "100" });
    if (query.client_id) p.set("client_id", query.client_id);
    if (query.status) p.set("status", query.status);
    api("GET", `/api/v1/sessions?${p}`).then(
      (r) => setList(r.items),
      (e) => setError(e.message),
    );
  };
  useEffect(() => {
    load();
  }, []);
  const submit = (e) => {
    e.preventDefault();
    load();
  };
  return html`<h1>Sessions</h1>
    <form class="filters" role="search" onSubmit=${submit}>
      <div class="field"><label for="s-client">Client id starts with</label>
        <input id="s-client" value=${q.client_id} onInput=${(e) => setQ({ ...q, client_id: e.target.value })} /></div>
      <div class="field"><label for="s-status">State</label>
        <select id="s-status" value=${q.status} onChange=${(e) => setQ({ ...q, status: e.target.value })}>
          <option value="">any</option><option value="open">open</option><option value="ended">ended</option>
        </select></div>
      <button type="submit">Search</button>
    </form>
    ${error && html`<p class="error">${error}</p>`}
    ${
      list &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Sessions, newest first</caption>
        <thead><tr><th scope="col">Client id</th><th scope="col">Bot</th><th scope="col">Created</th><th scope="col">Ended</th></tr></thead>
        <tbody>${list.map(
          (
            s,
          ) => html`<tr><td><a href=${`/admin/sessions/${encodeURIComponent(s.id)}`}>${s.client_id}</a></td>
            <td>${s.bot_id}</td><td>${when(s.created_at)}</td><td>${when(s.ended_at)}</td></tr>`,
        )}</tbody></table></div>
        ${list.length === 0 && html`<p class="hint">No sessions match.</p>`}`
    }`;
}

/** A task's tool calls, folded; read on first open. */
export function ToolCalls({ taskId }) {
  const [calls, setCalls] = useState(undefined);
  const open = (e) => {
    if (e.target.open && !calls)
      api("GET", `/api/v1/tasks/${encodeURIComponent(taskId)}/tool_calls`).then(setCalls, () =>
        setCalls([]),
      );
  };
  return html`<details onToggle=${open}><summary>Tool calls</summary>
    ${
      !calls
        ? html`<p class="hint">Loading…</p>`
        : calls.length === 0
          ? html`<p class="hint">None.</p>`
          : calls.map(
              (
                c,
              ) => html`<details><summary><code>${c.name}</code> — ${c.status}${c.duration_ms != null ? ` (${c.duration_ms} ms)` : ""}</summary>
                <p>Arguments</p><pre>${JSON.stringify(c.args, null, 2)}</pre>
                <p>Result</p><pre>${typeof c.result === "string" ? c.result : JSON.stringify(c.result, null, 2)}</pre></details>`,
            )
    }</details>`;
}

/** Bytes for people: "512 bytes", "1.5 KiB", "2.0 MiB". */
export function bytes(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A message's files (`metadata.attachments`: [{id, name, media_type, size}]), each a download
 * link through the scope-checked route GET /api/v1/attachments/{id}?session_id=.
 */
function Attachments({ list, sessionId }) {
  if (!Array.isArray(list) || list.length === 0) return "";
  return html`<ul class="attachments" aria-label="Attachments">${list.map(
    (a) => html`<li data-attachment=${a.id}>
      <a href=${`/api/v1/attachments/${encodeURIComponent(a.id)}?session_id=${encodeURIComponent(sessionId)}`} download=${a.name}>${a.name}</a>
      <span class="hint"> — ${a.media_type}, ${bytes(a.size)}</span></li>`,
  )}</ul>`;
}

/**
 * Uploads one file to the session (POST /api/v1/sessions/{id}/attachments, the raw bytes).
 * @returns the attachment's id
 * @throws Error with the server's detail (e.g. 413 over SWITCHYARD_ATTACHMENT_MAX_BYTES)
 */
async function upload(sessionId, file) {
  const res = await fetch(
    `/api/v1/sessions/${encodeURIComponent(sessionId)}/attachments?name=${encodeURIComponent(file.name)}`,
    {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": file.type || "application/octet-stream" },
      body: file,
    },
  );
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${file.name}: ${data.detail ?? `HTTP ${res.status}`}`);
  return data.id;
}

/** One session: transcript, tasks inline, send a message. */
export function SessionPage({ me, param }) {
  const [session, setSession] = useState(undefined);
  const [messages, setMessages] = useState([]);
  const [tasks, setTasks] = useState({});
  const [text, setText] = useState("");
  const [files, setFiles] = useState([]);
  const [error, setError] = useState("");
  const canWrite = scopeAllows(me.scopes, "sessions:write");
  const canTasks = scopeAllows(me.scopes, "tasks:read");
  useEffect(() => {
    const id = encodeURIComponent(param);
    const load = () => {
      api("GET", `/api/v1/sessions/${id}`).then(setSession, (e) => setError(e.message));
      api("GET", `/api/v1/sessions/${id}/messages?limit=200`).then(setMessages, () => {});
      if (canTasks) {
        api("GET", `/api/v1/tasks?session_id=${id}&limit=200`).then(
          (r) => setTasks(Object.fromEntries(r.items.map((t) => [t.id, t]))),
          () => {},
        );
      }
    };
    load();
    // The stream's message events carry no metadata (attachments): the list is re-read.
    const reread = () =>
      api("GET", `/api/v1/sessions/${id}/messages?limit=200`).then(setMessages, () => {});
    return subscribe((type, data) => {
      if (data.session_id !== param) return;
      if (type === "message") {
        setMessages((list) =>
          list.some((m) => m.id === data.id)
            ? list
            : [...list, { ...data, metadata: { task_id: data.task_id } }],
        );
        reread();
      } else if (type === "task") {
        setTasks((all) => ({ ...all, [data.id]: { ...all[data.id], ...data } }));
      }
    }, load);
  }, [param]);
  const send = async (e) => {
    e.preventDefault();
    setError("");
    try {
      const attachments = [];
      for (const f of files) attachments.push(await upload(param, f));
      const r = await api("POST", `/api/v1/sessions/${encodeURIComponent(param)}/messages`, {
        content: text,
        run_agent: true,
        ...(attachments.length ? { attachments } : {}),
      });
      setText("");
      setFiles([]);
      e.target.reset();
      if (r.task_id)
        setTasks((all) => ({ [r.task_id]: { id: r.task_id, status: "pending" }, ...all }));
    } catch (err) {
      setError(err.message);
    }
  };
  // The task a user message started: the task whose message is it, else the task id in its metadata.
  const taskOf = (m) =>
    m.metadata?.task_id ?? Object.values(tasks).find((t) => t.message_id === m.id)?.id;
  const pending = Object.values(tasks).filter((t) => !messages.some((m) => taskOf(m) === t.id));
  return html`<h1>Session ${session ? session.client_id : ""}</h1>
    ${session && html`<p class="hint">Bot ${session.bot_id} · created ${when(session.created_at)}${session.ended_at ? ` · ended ${when(session.ended_at)}` : ""}</p>`}
    <section aria-labelledby="transcript-h"><h2 id="transcript-h">Transcript</h2>
      <ol class="transcript" aria-live="polite" style="list-style:none;padding:0">
        ${messages.map((m) => {
          const t = tasks[taskOf(m)];
          return html`<li class="msg" data-role=${m.role}>
            <div class="meta">${m.role} · ${when(m.created_at)}${t ? html` · task <span class=${`status status-${t.status}`} data-testid="task-status">${t.status}</span>` : ""}</div>
            <pre>${m.content}</pre>
            <${Attachments} list=${m.metadata?.attachments} sessionId=${param} />
            ${t && m.role === "assistant" && canTasks && html`<${ToolCalls} taskId=${t.id} />`}
          </li>`;
        })}
      </ol>
      ${pending.map((t) => html`<p>Task <code>${t.id}</code>: <span class=${`status status-${t.status}`} data-testid="task-status">${t.status}</span>${t.error ? html` — <span class="error">${t.error}</span>` : ""}</p>`)}
    </section>
    <section aria-labelledby="send-h"><h2 id="send-h">Send a message</h2>
      ${
        canWrite
          ? html`<form onSubmit=${send}>
              <div class="field"><label for="msg-text">Message</label>
                <textarea id="msg-text" rows="3" required value=${text} onInput=${(e) => setText(e.target.value)}></textarea></div>
              <div class="field"><label for="msg-files">Files (optional)</label>
                <input id="msg-files" type="file" multiple onChange=${(e) => setFiles([...e.target.files])} /></div>
              <button class="primary" type="submit">Send and run the agent</button>
            </form>`
          : html`<p class="hint">Sending needs the sessions:write scope.</p>`
      }
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>`;
}
