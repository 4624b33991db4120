// Channels: which bot answers an outside conversation, with its mention and passive-memory
// switches (/api/v1/admin/channels). Each switch saves at once.
import { useEffect, useState } from "preact/hooks";
import { api, when } from "../api.js";
import { html } from "../html.js";
import { ErrorLine, Field, OkLine } from "./parts.js";

const MENTION = [
  ["", "by the conversation (groups yes, direct no)"],
  ["true", "always"],
  ["false", "never"],
];
const mentionValue = (v) => (v === null || v === undefined ? "" : String(v));
const mentionBody = (s) => (s === "" ? null : s === "true");

function BotSelect({ id, value, bots, onChange, label }) {
  return html`<select id=${id} value=${value} onChange=${(e) => onChange(e.target.value)} aria-label=${label}>
    ${bots.map((b) => html`<option value=${b.id}>${b.display_name ?? b.name} (${b.id})</option>`)}
  </select>`;
}

/** The channels page. */
export function ChannelsPage() {
  const [list, setList] = useState(undefined);
  const [bots, setBots] = useState([]);
  const [adapters, setAdapters] = useState([]);
  const [msg, setMsg] = useState({});
  const [draft, setDraft] = useState({
    integration: "",
    team: "",
    channel: "",
    bot_id: "default",
    require_mention: "",
    passive_memory: false,
  });
  const load = () =>
    api("GET", "/api/v1/admin/channels").then(setList, (e) => setMsg({ error: e.message }));
  useEffect(() => {
    load();
    api("GET", "/api/v1/admin/bots").then(setBots, () => {});
    api("GET", "/api/v1/admin/integrations").then(
      (l) => setAdapters(l.filter((i) => i.adapter).map((i) => i.adapter.name ?? i.folder)),
      () => {},
    );
  }, []);
  const update = async (c, change) => {
    setMsg({});
    try {
      const n = await api("PUT", `/api/v1/admin/channels/${encodeURIComponent(c.id)}`, change);
      setList((l) => l.map((x) => (x.id === c.id ? n : x)));
      setMsg({ ok: `Channel ${c.channel} saved.` });
    } catch (e) {
      setMsg({ error: e.message });
    }
  };
  const remove = async (c) => {
    if (
      !confirm(
        `Unbind channel ${c.channel}? Its conversation goes back to the adapter's default bot.`,
      )
    )
      return;
    try {
      await api("DELETE", `/api/v1/admin/channels/${encodeURIComponent(c.id)}`);
      load();
    } catch (e) {
      setMsg({ error: e.message });
    }
  };
  const create = async (e) => {
    e.preventDefault();
    setMsg({});
    try {
      await api("POST", "/api/v1/admin/channels", {
        integration: draft.integration,
        team: draft.team || null,
        channel: draft.channel,
        bot_id: draft.bot_id,
        require_mention: mentionBody(draft.require_mention),
        passive_memory: draft.passive_memory,
      });
      setDraft({ ...draft, team: "", channel: "" });
      setMsg({ ok: "Channel bound." });
      load();
    } catch (err) {
      setMsg({ error: err.message });
    }
  };
  const set = (k) => (e) => setDraft({ ...draft, [k]: e.target.value });
  return html`<h1>Channels</h1>
    <p class="hint">A channel binds one outside conversation (adapter, team, channel) to a bot; conversations without one go to the adapter's default bot.</p>
    <${ErrorLine} error=${msg.error} /><${OkLine} ok=${msg.ok} />
    ${
      list &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Channels</caption>
        <thead><tr><th scope="col">Conversation</th><th scope="col">Bot</th><th scope="col">Mention needed</th><th scope="col">Passive memory</th><th scope="col">Updated</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${list.map(
          (c) => html`<tr>
            <td><strong>${c.integration}</strong> ${c.team ? html`<code>${c.team}</code> / ` : ""}<code>${c.channel}</code></td>
            <td><${BotSelect} id=${`ch-bot-${c.id}`} label=${`Bot of channel ${c.channel}`} value=${c.bot_id} bots=${bots} onChange=${(v) => update(c, { bot_id: v })} /></td>
            <td><select aria-label=${`Mention needed in channel ${c.channel}`} value=${mentionValue(c.require_mention)}
              onChange=${(e) => update(c, { require_mention: mentionBody(e.target.value) })}>
              ${MENTION.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></td>
            <td><input type="checkbox" role="switch" aria-label=${`Passive memory in channel ${c.channel}`} checked=${c.passive_memory}
              onChange=${(e) => update(c, { passive_memory: e.target.checked })} /></td>
            <td>${when(c.updated_at)}</td>
            <td><button type="button" onClick=${() => remove(c)} aria-label=${`Unbind channel ${c.channel}`}>Unbind</button></td>
          </tr>`,
        )}</tbody></table></div>
        ${list.length === 0 && html`<p class="hint">No channels yet.</p>`}`
    }
    <section aria-labelledby="bind-h"><h2 id="bind-h">Bind a conversation</h2>
      <form onSubmit=${create}>
        <${Field} id="ch-integration" label="Adapter" hint="The chat adapter's name (as its integration declares it).">
          <input id="ch-integration" required list="ch-adapters" aria-describedby="ch-integration-hint" value=${draft.integration} onInput=${set("integration")} />
          <datalist id="ch-adapters">${adapters.map((a) => html`<option value=${a} />`)}</datalist></${Field}>
        <${Field} id="ch-team" label="Team id (optional)"><input id="ch-team" value=${draft.team} onInput=${set("team")} /></${Field}>
        <${Field} id="ch-channel" label="Channel id"><input id="ch-channel" required value=${draft.channel} onInput=${set("channel")} /></${Field}>
        <${Field} id="ch-bot" label="Bot"><${BotSelect} id="ch-bot" value=${draft.bot_id} bots=${bots} onChange=${(v) => setDraft({ ...draft, bot_id: v })} /></${Field}>
        <${Field} id="ch-mention" label="Mention needed">
          <select id="ch-mention" value=${draft.require_mention} onChange=${set("require_mention")}>${MENTION.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></${Field}>
        <div class="field"><span><input type="checkbox" role="switch" id="ch-passive" checked=${draft.passive_memory}
          onChange=${(e) => setDraft({ ...draft, passive_memory: e.target.checked })} /> <label for="ch-passive">Passive memory</label></span>
          <span class="hint">Keep messages not addressed to the bot as context.</span></div>
        <button class="primary" type="submit">Bind channel</button>
      </form>
    </section>`;
}
