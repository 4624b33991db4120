// An integration's settings form, generated from its setup.ts env_vars through
// GET/PUT /api/v1/admin/integrations/:id/settings. Secrets are write-only: the field is
// always empty, the masked value the API gives is shown beside it.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { html } from "../html.js";

/** The form; `onSaved()` runs after a successful save. */
export function SettingsForm({ id, onSaved }) {
  const [settings, setSettings] = useState(undefined);
  const [draft, setDraft] = useState({});
  const [msg, setMsg] = useState({});
  const load = () =>
    api("GET", `/api/v1/admin/integrations/${encodeURIComponent(id)}/settings`).then(
      (r) => setSettings(r.settings),
      (e) => setMsg({ error: e.message }),
    );
  useEffect(() => {
    load();
  }, [id]);
  const save = async (values) => {
    setMsg({});
    try {
      const r = await api("PUT", `/api/v1/admin/integrations/${encodeURIComponent(id)}/settings`, {
        settings: values,
      });
      setSettings(r.settings);
      setDraft({});
      setMsg({ ok: "Saved." });
      onSaved?.();
    } catch (e) {
      setMsg({ error: e.message });
    }
  };
  const submit = (e) => {
    e.preventDefault();
    const values = Object.fromEntries(Object.entries(draft).filter(([, v]) => v !== ""));
    if (Object.keys(values).length === 0) return setMsg({ error: "Nothing changed." });
    save(values);
  };
  if (!settings)
    return msg.error ? html`<p class="error">${msg.error}</p>` : html`<p class="hint">Loading…</p>`;
  if (settings.length === 0)
    return html`<p class="hint">This integration declares no settings.</p>`;
  return html`<form onSubmit=${submit} aria-label="Settings">
    ${settings.map((s) => {
      const fid = `setting-${s.key}`;
      const shown =
        s.is_set && s.source === "default"
          ? `unset: default ${s.value}`
          : s.is_set
            ? s.secret
              ? `set (${s.value})`
              : `set from ${s.source}`
            : s.default !== null
              ? `unset: default ${s.default}`
              : "unset";
      return html`<div class="field">
        <label for=${fid}>${s.key}${s.required ? html` <span aria-hidden="true">*</span><span class="sr-only"> (required)</span>` : ""}</label>
        <input id=${fid} name=${s.key} type=${s.secret ? "password" : "text"} autocomplete="off"
          placeholder=${s.secret ? (s.is_set ? "unchanged" : "") : (s.value ?? s.default ?? "")}
          value=${draft[s.key] ?? (s.secret ? "" : undefined)} aria-describedby=${`${fid}-hint`}
          onInput=${(e) => setDraft({ ...draft, [s.key]: e.target.value })} />
        <span id=${`${fid}-hint`} class="hint">
          ${s.description ?? ""} — <span data-testid=${`state-${s.key}`}>${shown}</span>${s.secret ? " (secret: never shown)" : ""}
        </span>
        ${s.is_set && s.source !== "env" && s.source !== "default" && html`<span><button type="button" onClick=${() => save({ [s.key]: "" })}>Unset ${s.key}</button></span>`}
      </div>`;
    })}
    <p class="hint"><span aria-hidden="true">*</span> required</p>
    ${msg.error && html`<p class="error" role="alert">${msg.error}</p>`}
    ${msg.ok && html`<p class="ok" role="status">${msg.ok}</p>`}
    <button class="primary" type="submit">Save settings</button>
  </form>`;
}
