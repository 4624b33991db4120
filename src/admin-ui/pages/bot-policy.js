// The parts of the bot form for approval policy, runtime and token budget — the bots API's
// `approval`, `runtime` and `budget` fields (docs/approvals.md, docs/runtime.md,
// docs/guards.md). Each part edits a draft kept by the form; `*Wire(draft)` gives the value
// the API takes.
import { html } from "../html.js";
import { Field } from "./parts.js";

/** The runtime every bot without settings has (src/runtime/config.ts DEFAULT_RUNTIME_CONFIG). */
const RUNTIME_DEFAULTS = {
  provider: "default",
  scope: "session",
  network: false,
  timeout_s: 120,
  max_output_bytes: 65536,
};

/** The form's draft of a bot's approval policy, runtime and budget, from the API's bot. */
export function policyDraft(bot) {
  const r = { ...RUNTIME_DEFAULTS, ...(bot.runtime ?? {}) };
  return {
    approvalDefault: bot.approval?.default ?? "never",
    approvalTools: { ...(bot.approval?.tools ?? {}) },
    provider: r.provider,
    scope: r.scope,
    network: r.network,
    timeout_s: String(r.timeout_s),
    max_output_bytes: String(r.max_output_bytes),
    tokens_per_day: bot.budget?.tokens_per_day ? String(bot.budget.tokens_per_day) : "",
    tokens_per_session_per_day: bot.budget?.tokens_per_session_per_day
      ? String(bot.budget.tokens_per_session_per_day)
      : "",
  };
}

/** `approval` for the API: null (never ask) when the default is never and nothing is overridden. */
export function approvalWire(d) {
  const tools = Object.fromEntries(Object.entries(d.approvalTools).filter(([, v]) => v));
  if (d.approvalDefault === "never" && Object.keys(tools).length === 0) return null;
  return { default: d.approvalDefault, tools };
}

const whole = (s) => (s.trim() === "" ? undefined : Number(s));

/** `runtime` for the API (numbers as typed; the server checks their bounds). */
export function runtimeWire(d) {
  return {
    provider: d.provider.trim() || "default",
    scope: d.scope,
    network: d.network,
    timeout_s: whole(d.timeout_s) ?? RUNTIME_DEFAULTS.timeout_s,
    max_output_bytes: whole(d.max_output_bytes) ?? RUNTIME_DEFAULTS.max_output_bytes,
  };
}

/** `budget` for the API: null when both fields are empty (no limit). */
export function budgetWire(d) {
  const b = {};
  if (whole(d.tokens_per_day) !== undefined) b.tokens_per_day = whole(d.tokens_per_day);
  if (whole(d.tokens_per_session_per_day) !== undefined)
    b.tokens_per_session_per_day = whole(d.tokens_per_session_per_day);
  return Object.keys(b).length ? b : null;
}

const RULES = [
  ["", "as the default"],
  ["always", "always ask"],
  ["never", "never ask"],
];

/**
 * Approval policy: the default rule and a rule per tool. Rows are the bot's tools plus any
 * tool that already has its own rule.
 */
export function ApprovalFields({ draft, tools, onChange }) {
  const names = [...new Set([...tools, ...Object.keys(draft.approvalTools)])];
  const setTool = (n, v) =>
    onChange({ ...draft, approvalTools: { ...draft.approvalTools, [n]: v } });
  return html`<fieldset class="field"><legend>Approval policy</legend>
    <${Field} id="bot-approval-default" label="Tool calls wait for a person" hint="Per tool below; a run may only tighten it (docs/approvals.md).">
      <select id="bot-approval-default" aria-describedby="bot-approval-default-hint" value=${draft.approvalDefault}
        onChange=${(e) => onChange({ ...draft, approvalDefault: e.target.value })}>
        <option value="never">never (default)</option><option value="always">always</option>
      </select></${Field}>
    ${
      names.length === 0
        ? html`<span class="hint">Pick tools above to give one its own rule.</span>`
        : html`<div class="scroll"><table>
          <caption class="sr-only">Approval rule per tool</caption>
          <thead><tr><th scope="col">Tool</th><th scope="col">Rule</th></tr></thead>
          <tbody>${names.map(
            (n) => html`<tr><td><code>${n}</code></td><td>
              <select aria-label=${`Approval for ${n}`} value=${draft.approvalTools[n] ?? ""} onChange=${(e) => setTool(n, e.target.value)}>
                ${RULES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
              </select></td></tr>`,
          )}</tbody></table></div>`
    }
  </fieldset>`;
}

/** Runtime: provider, scope, network, the limits of one bash call. */
export function RuntimeFields({ draft, onChange }) {
  const set = (k) => (e) => onChange({ ...draft, [k]: e.target.value });
  return html`<fieldset class="field"><legend>Runtime</legend>
    <${Field} id="bot-rt-provider" label="Runtime provider" hint="default (the server's SWITCHYARD_RUNTIME), host, bubblewrap, or an integration's.">
      <input id="bot-rt-provider" list="bot-rt-providers" aria-describedby="bot-rt-provider-hint" value=${draft.provider} onInput=${set("provider")} />
      <datalist id="bot-rt-providers"><option value="default" /><option value="host" /><option value="bubblewrap" /></datalist></${Field}>
    <${Field} id="bot-rt-scope" label="Workspace scope" hint="One folder per session, per channel or per bot.">
      <select id="bot-rt-scope" aria-describedby="bot-rt-scope-hint" value=${draft.scope} onChange=${set("scope")}>
        <option value="session">session</option><option value="channel">channel</option><option value="bot">bot</option>
      </select></${Field}>
    <div class="field"><span><input type="checkbox" role="switch" id="bot-rt-network" checked=${draft.network}
      onChange=${(e) => onChange({ ...draft, network: e.target.checked })} aria-describedby="bot-rt-network-hint" />
      <label for="bot-rt-network">Network in commands</label></span>
      <span id="bot-rt-network-hint" class="hint">Only bubblewrap can take the network away.</span></div>
    <${Field} id="bot-rt-timeout" label="Command timeout (s)" hint="1–3600 seconds per bash call.">
      <input id="bot-rt-timeout" type="number" min="1" max="3600" step="1" aria-describedby="bot-rt-timeout-hint" value=${draft.timeout_s} onInput=${set("timeout_s")} /></${Field}>
    <${Field} id="bot-rt-output" label="Output kept (bytes)" hint="Per stream of a bash call, and the cap of other tool results: 1024–16777216.">
      <input id="bot-rt-output" type="number" min="1024" max="16777216" step="1" aria-describedby="bot-rt-output-hint" value=${draft.max_output_bytes} onInput=${set("max_output_bytes")} /></${Field}>
  </fieldset>`;
}

/** Token budget: per UTC day for the bot, and per session per day. Empty: no limit. */
export function BudgetFields({ draft, onChange }) {
  const set = (k) => (e) => onChange({ ...draft, [k]: e.target.value });
  return html`<fieldset class="field"><legend>Token budget</legend>
    <${Field} id="bot-budget-day" label="Tokens per day" hint="All sessions, per UTC day; empty: no limit.">
      <input id="bot-budget-day" type="number" min="1" step="1" aria-describedby="bot-budget-day-hint" value=${draft.tokens_per_day} onInput=${set("tokens_per_day")} /></${Field}>
    <${Field} id="bot-budget-session" label="Tokens per session per day" hint="Any one session, per UTC day; empty: no limit.">
      <input id="bot-budget-session" type="number" min="1" step="1" aria-describedby="bot-budget-session-hint" value=${draft.tokens_per_session_per_day} onInput=${set("tokens_per_session_per_day")} /></${Field}>
  </fieldset>`;
}
