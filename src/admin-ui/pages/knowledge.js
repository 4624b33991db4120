// Documents and skills: search the documents (GET /api/v1/documents/search) and browse
// the skills synced from integrations (GET /api/v1/skills, one with its content).
import { useEffect, useState } from "preact/hooks";
import { api, when } from "../api.js";
import { html } from "../html.js";
import { ErrorLine, Field } from "./parts.js";

function DocumentSearch() {
  const [q, setQ] = useState("");
  const [r, setR] = useState(undefined);
  const [error, setError] = useState("");
  const search = async (e) => {
    e.preventDefault();
    setError("");
    try {
      setR(await api("GET", `/api/v1/documents/search?${new URLSearchParams({ q, limit: "20" })}`));
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<section aria-labelledby="docs-h"><h2 id="docs-h">Documents</h2>
    <form class="filters" role="search" aria-label="Search documents" onSubmit=${search}>
      <${Field} id="doc-q" label="Search"><input id="doc-q" type="search" required value=${q} onInput=${(e) => setQ(e.target.value)} /></${Field}>
      <button type="submit">Search</button>
    </form>
    <${ErrorLine} error=${error} />
    ${
      r &&
      html`<p class="hint" role="status">${r.results.length} found (${r.mode} search)${r.warning ? ` — ${r.warning}` : ""}</p>
      <ol class="results">${r.results.map(
        (
          h,
        ) => html`<li><strong>${h.title ?? h.id}</strong> <span class="hint">score ${h.score.toFixed(3)} · ${h.integration_id ?? "no integration"} · ${when(h.created_at)}</span>
          <pre>${h.chunk.content}</pre></li>`,
      )}</ol>`
    }
  </section>`;
}

function Skills() {
  const [list, setList] = useState(undefined);
  const [filter, setFilter] = useState("");
  const [open, setOpen] = useState({});
  const [error, setError] = useState("");
  useEffect(() => {
    api("GET", "/api/v1/skills").then(setList, (e) => setError(e.message));
  }, []);
  const show = async (id) => {
    if (open[id]) return setOpen({ ...open, [id]: undefined });
    try {
      const s = await api(
        "GET",
        `/api/v1/skills/${id.split("/").map(encodeURIComponent).join("/")}`,
      );
      setOpen({ ...open, [id]: s.content });
    } catch (e) {
      setError(e.message);
    }
  };
  const f = filter.toLowerCase();
  const shown = (list ?? []).filter(
    (s) => !f || `${s.id} ${s.name} ${s.description ?? ""}`.toLowerCase().includes(f),
  );
  return html`<section aria-labelledby="skills-h"><h2 id="skills-h">Skills</h2>
    <${Field} id="skill-filter" label="Filter skills"><input id="skill-filter" type="search" value=${filter} onInput=${(e) => setFilter(e.target.value)} /></${Field}>
    <${ErrorLine} error=${error} />
    ${list && shown.length === 0 && html`<p class="hint">No skills${f ? " match" : " are synced from integrations"}.</p>`}
    <ul class="plain">${shown.map(
      (
        s,
      ) => html`<li class="msg"><strong>${s.name}</strong> <code class="hint">${s.id}</code><br />${s.description ?? ""}
        <br /><button type="button" aria-expanded=${open[s.id] ? "true" : "false"} onClick=${() => show(s.id)}>${open[s.id] ? "Hide" : "Show"} content</button>
        ${open[s.id] && html`<pre>${open[s.id]}</pre>`}</li>`,
    )}</ul>
  </section>`;
}

/** The documents and skills page. */
export function KnowledgePage() {
  return html`<h1>Documents and skills</h1><${DocumentSearch} /><${Skills} />`;
}
