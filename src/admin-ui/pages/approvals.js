// Approvals: tool calls waiting for a person (approve or deny, with an optional reason),
// and the decided ones (/api/v1/approvals). Re-reads on each `approval` event of the live
// stream, so a request made or decided anywhere shows up without a reload.
import { useEffect, useState } from "preact/hooks";
import { api, scopeAllows, subscribe, when } from "../api.js";
import { html } from "../html.js";
import { ErrorLine, OkLine, Status } from "./parts.js";

const args = (a) => JSON.stringify(a.args);

function Pending({ a, canDecide, onDecide }) {
  const [reason, setReason] = useState("");
  const id = `reason-${a.id}`;
  return html`<tr data-approval=${a.id}>
    <td><strong>${a.tool}</strong><br /><code class="args">${args(a)}</code></td>
    <td><a href=${`/admin/sessions/${encodeURIComponent(a.session_id)}`}>session</a><br /><code>${a.task_id}</code></td>
    <td>${when(a.requested_at)}</td>
    <td>${when(a.expires_at)}</td>
    <td>
      <label class="sr-only" for=${id}>Reason for ${a.tool} ${a.id}</label>
      <input id=${id} placeholder="reason (optional)" value=${reason} disabled=${!canDecide}
        onInput=${(e) => setReason(e.target.value)} />
      <button type="button" class="primary" disabled=${!canDecide} aria-label=${`Approve ${a.tool} ${a.id}`}
        onClick=${() => onDecide(a, "approve", reason)}>Approve</button>
      <button type="button" disabled=${!canDecide} aria-label=${`Deny ${a.tool} ${a.id}`}
        onClick=${() => onDecide(a, "deny", reason)}>Deny</button>
    </td>
  </tr>`;
}

/** The approvals page. */
export function ApprovalsPage({ me }) {
  const [pending, setPending] = useState(undefined);
  const [decided, setDecided] = useState(undefined);
  const [msg, setMsg] = useState({});
  const canDecide = scopeAllows(me.scopes, "approvals:write");
  const load = () => {
    api("GET", "/api/v1/approvals?status=pending&limit=200").then(setPending, (e) =>
      setMsg({ error: e.message }),
    );
    api("GET", "/api/v1/approvals?limit=200").then(
      (l) => setDecided(l.filter((a) => a.status !== "pending")),
      (e) => setMsg({ error: e.message }),
    );
  };
  useEffect(() => {
    load();
    return subscribe(
      (type) => {
        if (type === "approval") load();
      },
      () => load(),
    );
  }, []);
  const decide = async (a, decision, reason) => {
    setMsg({});
    try {
      const r = await api("POST", `/api/v1/approvals/${encodeURIComponent(a.id)}`, {
        decision,
        ...(reason ? { reason } : {}),
      });
      setMsg({ ok: `${a.tool}: ${r.status}.` });
    } catch (e) {
      setMsg({ error: e.message });
    }
    load();
  };
  return html`<h1>Approvals</h1>
    <p class="hint">Tool calls that wait for a person. Approve and the tool runs once and the turn goes on; deny and the model is told. Undecided requests expire and count as denied.</p>
    <${ErrorLine} error=${msg.error} /><${OkLine} ok=${msg.ok} />
    ${!canDecide && html`<p class="hint">Deciding needs the approvals:write scope.</p>`}
    <section aria-labelledby="pending-h"><h2 id="pending-h">Waiting</h2>
    ${
      pending &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Approvals waiting for a decision, newest first</caption>
        <thead><tr><th scope="col">Tool and arguments</th><th scope="col">Task</th><th scope="col">Requested</th><th scope="col">Expires</th><th scope="col">Decision</th></tr></thead>
        <tbody>${pending.map((a) => html`<${Pending} key=${a.id} a=${a} canDecide=${canDecide} onDecide=${decide} />`)}</tbody>
      </table></div>
      ${pending.length === 0 && html`<p class="hint">Nothing is waiting.</p>`}`
    }</section>
    <section aria-labelledby="decided-h"><h2 id="decided-h">Decided</h2>
    ${
      decided &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Decided approvals, newest first</caption>
        <thead><tr><th scope="col">Tool and arguments</th><th scope="col">Status</th><th scope="col">By</th><th scope="col">When</th><th scope="col">Reason</th></tr></thead>
        <tbody>${decided.map(
          (a) => html`<tr data-approval=${a.id}>
            <td><strong>${a.tool}</strong><br /><code class="args">${args(a)}</code></td>
            <td><${Status} value=${a.status} /></td>
            <td>${a.decided_by ?? "—"}</td>
            <td>${when(a.decided_at)}</td>
            <td>${a.reason ?? ""}</td>
          </tr>`,
        )}</tbody></table></div>
        ${decided.length === 0 && html`<p class="hint">No decisions yet.</p>`}`
    }</section>`;
}
