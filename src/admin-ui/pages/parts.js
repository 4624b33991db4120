// Small pieces shared by the pages: a status word, an error line, a labelled field, tabs.
import { useRef } from "preact/hooks";
import { html } from "../html.js";

/** A status word coloured by its meaning. */
export const Status = ({ value }) => html`<span class=${`status status-${value}`}>${value}</span>`;

/** An error announced to screen readers, or nothing. */
export const ErrorLine = ({ error }) => error && html`<p class="error" role="alert">${error}</p>`;

/** A success note announced politely, or nothing. */
export const OkLine = ({ ok }) => ok && html`<p class="ok" role="status">${ok}</p>`;

/** A label over its input; `hint` is tied to the input by aria-describedby. */
export function Field({ id, label, hint, children }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${children}
    ${hint && html`<span id=${`${id}-hint`} class="hint">${hint}</span>`}
  </div>`;
}

/**
 * Tabs (WAI-ARIA tabs pattern: arrow keys, Home and End move between tabs).
 * `tabs` is [{id, label, body}]; `current` the selected id; `onSelect(id)`.
 */
export function Tabs({ label, tabs, current, onSelect }) {
  const list = useRef(null);
  const focus = (i) => {
    const t = tabs[(i + tabs.length) % tabs.length];
    onSelect(t.id);
    list.current?.querySelector(`#tab-${t.id}`)?.focus();
  };
  const onKey = (e) => {
    const i = tabs.findIndex((t) => t.id === current);
    if (e.key === "ArrowRight") focus(i + 1);
    else if (e.key === "ArrowLeft") focus(i - 1);
    else if (e.key === "Home") focus(0);
    else if (e.key === "End") focus(tabs.length - 1);
    else return;
    e.preventDefault();
  };
  const sel = tabs.find((t) => t.id === current) ?? tabs[0];
  return html`<div class="tabs">
    <div role="tablist" aria-label=${label} ref=${list} onKeyDown=${onKey}>
      ${tabs.map(
        (
          t,
        ) => html`<button type="button" role="tab" id=${`tab-${t.id}`} aria-selected=${t.id === sel.id ? "true" : "false"}
          aria-controls=${`panel-${t.id}`} tabindex=${t.id === sel.id ? 0 : -1} onClick=${() => onSelect(t.id)}>${t.label}</button>`,
      )}
    </div>
    <div role="tabpanel" id=${`panel-${sel.id}`} aria-labelledby=${`tab-${sel.id}`} tabindex="0">${sel.body}</div>
  </div>`;
}

/** Pretty JSON in a <pre>. */
export const Json = ({ value }) => html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
