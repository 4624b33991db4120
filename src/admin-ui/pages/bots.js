// Bots: the list, and a form to create or edit one through /api/v1/admin/bots — model,
// fallback models, prompt, tools (GET /api/v1/admin/tools) and skills (GET /api/v1/skills)
// picked from the registry, display name, avatar, integration_config, approval policy,
// runtime and token budget (./bot-policy.js).
import { useEffect, useState } from "preact/hooks";
import { api, navigate, when } from "../api.js";
import { html } from "../html.js";
import {
  ApprovalFields,
  approvalWire,
  BudgetFields,
  budgetWire,
  policyDraft,
  RuntimeFields,
  runtimeWire,
} from "./bot-policy.js";
import { ErrorLine, Field, OkLine } from "./parts.js";

/** The list of bots. */
export function BotsPage() {
  const [list, setList] = useState(undefined);
  const [error, setError] = useState("");
  useEffect(() => {
    api("GET", "/api/v1/admin/bots").then(setList, (e) => setError(e.message));
  }, []);
  return html`<h1>Bots</h1>
    <p><a class="button" href="/admin/bots/new">New bot</a></p>
    <${ErrorLine} error=${error} />
    ${
      list &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Bots</caption>
        <thead><tr><th scope="col">Bot</th><th scope="col">Model</th><th scope="col">Fallbacks</th><th scope="col">Tools</th><th scope="col">Skills</th><th scope="col">Managed by</th><th scope="col">Updated</th></tr></thead>
        <tbody>${list.map(
          (b) => html`<tr>
            <td><a href=${`/admin/bots/${encodeURIComponent(b.id)}`}>${b.display_name ?? b.name}</a><br /><code class="hint">${b.id}</code></td>
            <td><code>${b.model}</code></td>
            <td>${b.fallback_models.length ? b.fallback_models.map((m) => html`<code>${m}</code> `) : "—"}</td>
            <td>${b.tools.join(", ") || "—"}</td>
            <td>${b.skills.length || "—"}</td>
            <td>${b.managed_by}</td>
            <td>${when(b.updated_at)}</td>
          </tr>`,
        )}</tbody></table></div>`
    }`;
}

const lines = (s) =>
  s
    .split("\n")
    .map((x) => x.trim())
    .filter(Boolean);

/** Checkboxes for picking names from a registry list [{name, description}]. */
function Picker({ legend, idPrefix, items, picked, onChange, empty }) {
  const toggle = (n) =>
    onChange(picked.includes(n) ? picked.filter((x) => x !== n) : [...picked, n]);
  // Names the bot has that the registry does not (any more) are kept, and shown as such.
  const unknown = picked.filter((n) => !items.some((i) => i.name === n));
  return html`<fieldset class="field picker"><legend>${legend}</legend>
    ${items.length === 0 && html`<span class="hint">${empty}</span>`}
    ${[...items, ...unknown.map((name) => ({ name, description: "not in the registry" }))].map(
      (i, k) => html`<span class="pick">
        <input type="checkbox" id=${`${idPrefix}-${k}`} checked=${picked.includes(i.name)} onChange=${() => toggle(i.name)}
          aria-describedby=${i.description ? `${idPrefix}-${k}-d` : undefined} />
        <label for=${`${idPrefix}-${k}`}>${i.name}</label>
        ${i.description && html`<span id=${`${idPrefix}-${k}-d`} class="hint"> — ${i.description}</span>`}
      </span>`,
    )}
  </fieldset>`;
}

const BLANK = {
  id: "",
  name: "",
  display_name: "",
  avatar_url: "",
  model: "",
  fallback_models: [],
  system_prompt: "",
  tools: [],
  skills: [],
  integration_config: {},
  approval: null,
  runtime: null,
  budget: null,
};

/** Create (param "new") or edit one bot. */
export function BotPage({ param }) {
  const isNew = param === "new";
  const [bot, setBot] = useState(isNew ? BLANK : undefined);
  const [fallbacks, setFallbacks] = useState("");
  const [config, setConfig] = useState("{}");
  const [tools, setTools] = useState([]);
  const [skills, setSkills] = useState([]);
  const [msg, setMsg] = useState({});
  const [policy, setPolicy] = useState(policyDraft(BLANK));
  useEffect(() => {
    api("GET", "/api/v1/admin/tools").then(setTools, () => {});
    api("GET", "/api/v1/skills").then(
      (l) => setSkills(l.map((s) => ({ name: s.id, description: s.description }))),
      () => {},
    );
    if (!isNew) {
      api("GET", `/api/v1/admin/bots/${encodeURIComponent(param)}`).then(
        (b) => {
          setBot({ ...b, display_name: b.display_name ?? "", avatar_url: b.avatar_url ?? "" });
          setFallbacks(b.fallback_models.join("\n"));
          setConfig(JSON.stringify(b.integration_config, null, 2));
          setPolicy(policyDraft(b));
        },
        (e) => setMsg({ error: e.message }),
      );
    }
  }, [param]);
  if (!bot)
    return html`<h1>Bot</h1>${msg.error ? html`<${ErrorLine} error=${msg.error} />` : html`<p class="hint">Loading…</p>`}`;
  const set = (k) => (e) => setBot({ ...bot, [k]: e.target.value });
  const save = async (e) => {
    e.preventDefault();
    setMsg({});
    let integration_config;
    try {
      integration_config = JSON.parse(config || "{}");
      if (
        !integration_config ||
        typeof integration_config !== "object" ||
        Array.isArray(integration_config)
      )
        throw new Error("not an object");
    } catch {
      return setMsg({ error: "integration_config must be a JSON object." });
    }
    const body = {
      name: bot.name,
      system_prompt: bot.system_prompt,
      tools: bot.tools,
      skills: bot.skills,
      fallback_models: lines(fallbacks),
      display_name: bot.display_name || null,
      avatar_url: bot.avatar_url || null,
      integration_config,
      approval: approvalWire(policy),
      runtime: runtimeWire(policy),
      budget: budgetWire(policy),
    };
    if (bot.model) body.model = bot.model;
    try {
      if (isNew) {
        const b = await api("POST", "/api/v1/admin/bots", { id: bot.id, ...body });
        navigate(`/admin/bots/${encodeURIComponent(b.id)}`);
      } else {
        const b = await api("PUT", `/api/v1/admin/bots/${encodeURIComponent(param)}`, body);
        setBot({ ...b, display_name: b.display_name ?? "", avatar_url: b.avatar_url ?? "" });
        setPolicy(policyDraft(b));
        setMsg({ ok: "Saved." });
      }
    } catch (err) {
      setMsg({ error: err.message });
    }
  };
  const remove = async () => {
    if (!confirm(`Delete the bot “${param}”?`)) return;
    try {
      await api("DELETE", `/api/v1/admin/bots/${encodeURIComponent(param)}`);
      navigate("/admin/bots");
    } catch (err) {
      setMsg({ error: err.message });
    }
  };
  return html`<h1>${isNew ? "New bot" : `Bot ${bot.display_name || bot.name}`}</h1>
    <p><a href="/admin/bots">All bots</a></p>
    ${!isNew && bot.managed_by === "env" && html`<p class="hint">This bot follows SWITCHYARD_MODEL; saving here makes it API-owned for good.</p>`}
    <form onSubmit=${save} aria-label="Bot">
      ${
        isNew
          ? html`<${Field} id="bot-id" label="Id" hint="Letters, digits, _ . - (1–100); cannot change later.">
              <input id="bot-id" required pattern="[a-zA-Z0-9_.\\-]{1,100}" aria-describedby="bot-id-hint" value=${bot.id} onInput=${set("id")} /></${Field}>`
          : html`<p>Id: <code>${bot.id}</code></p>`
      }
      <${Field} id="bot-name" label="Name"><input id="bot-name" required value=${bot.name} onInput=${set("name")} /></${Field}>
      <${Field} id="bot-display" label="Display name" hint="What chat adapters show; empty: the name.">
        <input id="bot-display" aria-describedby="bot-display-hint" value=${bot.display_name} onInput=${set("display_name")} /></${Field}>
      <${Field} id="bot-avatar" label="Avatar URL"><input id="bot-avatar" type="url" value=${bot.avatar_url} onInput=${set("avatar_url")} /></${Field}>
      <${Field} id="bot-model" label="Model" hint=${isNew ? "provider:model, e.g. openai:gpt-4o-mini; empty: the server's SWITCHYARD_MODEL." : "provider:model"}>
        <input id="bot-model" aria-describedby="bot-model-hint" value=${bot.model} required=${!isNew} onInput=${set("model")} /></${Field}>
      <${Field} id="bot-fallbacks" label="Fallback models" hint="One provider:model per line, tried in order when the model fails.">
        <textarea id="bot-fallbacks" rows="3" aria-describedby="bot-fallbacks-hint" value=${fallbacks} onInput=${(e) => setFallbacks(e.target.value)}></textarea></${Field}>
      <${Field} id="bot-prompt" label="System prompt">
        <textarea id="bot-prompt" rows="6" value=${bot.system_prompt} onInput=${set("system_prompt")}></textarea></${Field}>
      <${Picker} legend="Tools" idPrefix="tool" items=${tools} picked=${bot.tools} onChange=${(v) => setBot({ ...bot, tools: v })} empty="No tools are registered." />
      <${Picker} legend="Skills" idPrefix="skill" items=${skills} picked=${bot.skills} onChange=${(v) => setBot({ ...bot, skills: v })} empty="No skills are synced from integrations." />
      <${Field} id="bot-config" label="integration_config (JSON)" hint="Per-integration settings of this bot, as a JSON object.">
        <textarea id="bot-config" rows="4" class="mono" aria-describedby="bot-config-hint" value=${config} onInput=${(e) => setConfig(e.target.value)}></textarea></${Field}>
      <${ApprovalFields} draft=${policy} tools=${bot.tools} onChange=${setPolicy} />
      <${RuntimeFields} draft=${policy} onChange=${setPolicy} />
      <${BudgetFields} draft=${policy} onChange=${setPolicy} />
      <${ErrorLine} error=${msg.error} /><${OkLine} ok=${msg.ok} />
      <p class="copy"><button class="primary" type="submit">${isNew ? "Create bot" : "Save bot"}</button>
      ${!isNew && html`<button type="button" onClick=${remove}>Delete bot</button>`}</p>
    </form>`;
}
