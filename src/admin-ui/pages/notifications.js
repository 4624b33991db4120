// Notifications: the history (GET /api/v1/notifications, newest first, the last 200 kept).
import { useEffect, useState } from "preact/hooks";
import { api, subscribe, when } from "../api.js";
import { html } from "../html.js";
import { ErrorLine, Status } from "./parts.js";

/** The notifications page. */
export function NotificationsPage() {
  const [list, setList] = useState(undefined);
  const [error, setError] = useState("");
  useEffect(() => {
    const load = () =>
      api("GET", "/api/v1/notifications?limit=200").then(setList, (e) => setError(e.message));
    load();
    // A notification's delivery changing (sent, failed) shows on the next read.
    return subscribe((type) => type === "delivery" && load(), load);
  }, []);
  return html`<h1>Notifications</h1>
    <${ErrorLine} error=${error} />
    ${
      list &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Notifications, newest first</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Channel</th><th scope="col">Priority</th><th scope="col">Message</th><th scope="col">Delivery</th></tr></thead>
        <tbody>${list.map((n) => {
          const d = n.meta?.delivery;
          return html`<tr>
            <td>${when(n.created_at)}</td><td>${n.channel}</td><td>${n.priority}</td>
            <td><pre>${n.message}</pre></td>
            <td>${
              d
                ? html`<a href=${`/admin/deliveries/${encodeURIComponent(n.meta.delivery_id)}`}><${Status} value=${d.status} /></a>
                  ${d.http_status ? ` HTTP ${d.http_status}` : ""}${d.error ? html` <span class="error">${d.error}</span>` : ""}`
                : html`<${Status} value=${n.delivered ? "delivered" : "failed"} />`
            }</td>
          </tr>`;
        })}</tbody></table></div>
        ${list.length === 0 && html`<p class="hint">No notifications sent yet.</p>`}`
    }`;
}
