// One task (/admin/tasks/<id>): its fields, its timeline (GET /api/v1/tasks/{id}/timeline:
// created, started, model calls, tool calls, approvals, finished, deliveries), its tool calls folded
// and Cancel. Re-read on every `task` event of the live stream for this task.
import { useEffect, useState } from "preact/hooks";
import { api, scopeAllows, subscribe, when } from "../api.js";
import { html } from "../html.js";
import { ErrorLine, Status } from "./parts.js";
import { ToolCalls } from "./sessions.js";

const LIVE = ["pending", "running", "waiting_approval"];

/** What one timeline event says, for people. */
function describe(e) {
  switch (e.kind) {
    case "created":
      return "Created (queued)";
    case "started":
      return `Claimed by a worker (attempt ${e.attempts})`;
    case "model_call":
      return html`Model call <code>${e.model}</code> (${e.duration_ms} ms${e.input_tokens != null ? `, ${e.input_tokens} in / ${e.output_tokens ?? "?"} out tokens` : ""}${e.finish_reason ? `, ${e.finish_reason}` : ""})`;
    case "tool_call":
      return html`Tool call <code>${e.tool}</code> — <${Status} value=${e.status} /> (${e.duration_ms} ms)`;
    case "approval_requested":
      return html`Approval requested for <code>${e.tool}</code> (expires ${when(e.expires_at)}) — <a href="/admin/approvals">Approvals</a>`;
    case "approval_decided":
      return html`Approval for <code>${e.tool}</code>: <${Status} value=${e.status} />${e.decided_by ? ` by ${e.decided_by}` : ""}${e.reason ? ` — “${e.reason}”` : ""}`;
    case "finished":
      return html`Finished: <${Status} value=${e.status} />${e.error ? html` — <span class="error">${e.error}</span>` : ""}`;
    case "delivery_queued":
      return html`Delivery queued (${e.target_type}) — now <${Status} value=${e.status} />, ${e.attempts} attempt(s)${e.last_status ? `, last HTTP ${e.last_status}` : ""} — <a href=${`/admin/deliveries/${encodeURIComponent(e.delivery_id)}`}>delivery</a>`;
    case "delivered":
      return `Delivered (${e.target_type})`;
    default:
      return e.kind;
  }
}

/** The task page. */
export function TaskPage({ me, param }) {
  const [task, setTask] = useState(undefined);
  const [timeline, setTimeline] = useState(undefined);
  const [error, setError] = useState("");
  const canCancel = scopeAllows(me.scopes, "tasks:write");
  useEffect(() => {
    const id = encodeURIComponent(param);
    const load = () => {
      api("GET", `/api/v1/tasks/${id}`).then(setTask, (e) => setError(e.message));
      api("GET", `/api/v1/tasks/${id}/timeline`).then(setTimeline, () => {});
    };
    load();
    return subscribe((type, data) => {
      if (type === "task" && data.id === param) load();
    }, load);
  }, [param]);
  const cancel = async () => {
    setError("");
    try {
      setTask({
        ...task,
        ...(await api("POST", `/api/v1/tasks/${encodeURIComponent(param)}/cancel`)),
      });
      api("GET", `/api/v1/tasks/${encodeURIComponent(param)}/timeline`).then(setTimeline, () => {});
    } catch (e) {
      setError(e.message);
    }
  };
  if (!task)
    return html`<h1>Task</h1>${error ? html`<${ErrorLine} error=${error} />` : html`<p class="hint">Loading…</p>`}`;
  const tokens = timeline?.tokens;
  return html`<h1>Task <code>${task.id}</code></h1>
    <p><a href="/admin/tasks">All tasks</a></p>
    <dl class="facts">
      <dt>Status</dt><dd data-testid="task-detail-status"><${Status} value=${task.status} /></dd>
      <dt>Bot</dt><dd>${task.bot_id}</dd>
      <dt>Session</dt><dd><a href=${`/admin/sessions/${encodeURIComponent(task.session_id)}`}>${task.session_id}</a></dd>
      <dt>Attempts</dt><dd>${task.attempts}</dd>
      <dt>Tokens</dt><dd>${tokens ? `${tokens.total ?? "—"} (input ${tokens.input ?? "—"}, output ${tokens.output ?? "—"})` : "—"}</dd>
      <dt>Result goes to</dt><dd>${task.dispatch_type ?? task.dispatch_config?.type ?? "—"}</dd>
    </dl>
    ${LIVE.includes(task.status) && html`<p><button type="button" disabled=${!canCancel} onClick=${cancel}>Cancel task</button>${!canCancel && html` <span class="hint">Cancelling needs the tasks:write scope.</span>`}</p>`}
    <${ErrorLine} error=${error} />
    <section aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>
      ${
        !timeline
          ? html`<p class="hint">Loading…</p>`
          : html`<ol class="timeline" aria-label="Timeline, oldest first">${timeline.events.map(
              (e) =>
                html`<li data-kind=${e.kind}><time datetime=${e.at}>${when(e.at)}</time> ${describe(e)}</li>`,
            )}</ol>`
      }
      <p class="hint">The server keeps no record per model call: model use shows as the task's tokens.</p>
    </section>
    <section aria-labelledby="prompt-h"><h2 id="prompt-h">Prompt and result</h2>
      <pre>${task.prompt}</pre>
      ${task.result && html`<pre>${task.result}</pre>`}
      <${ToolCalls} taskId=${task.id} />
    </section>`;
}
