// Jobs (docs/jobs.md): the list (/api/v1/jobs), a form to create one with a preview of its
// next runs (POST /api/v1/jobs/preview) before saving, and one job's page: its next runs,
// its runs (re-fetched on the stream's task events: a run's status is read from its task),
// run now, enable/disable, delete.
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, navigate, scopeAllows, subscribe, when } from "../api.js";
import { html } from "../html.js";
import { ErrorLine, Field, OkLine, Status } from "./parts.js";

/** A schedule for people: "cron 0 9 * * * (Europe/Paris)", "every 300 s", "at …". */
export function scheduleText(s) {
  if ("cron" in s) return `cron ${s.cron} (${s.tz ?? "UTC"})`;
  if ("every_seconds" in s) return `every ${s.every_seconds} s`;
  return `once at ${when(s.at)}`;
}

/** A target for people, with a link to the session when it is one. */
function TargetText({ target }) {
  const sid = typeof target === "string" ? target : target.session_id;
  if (sid)
    return html`session <a href=${`/admin/sessions/${encodeURIComponent(sid)}`}><code>${sid}</code></a>`;
  return html`bot <code>${target.bot_id}</code>, client <code>${target.client_id}</code>`;
}

/** The schedule fields whose 422 errors ("Invalid schedule.cron: …") the form shows in place. */
const FIELD_OF = {
  "schedule.cron": "cron",
  "schedule.tz": "tz",
  "schedule.every_seconds": "every_seconds",
  "schedule.at": "at",
};

/** Splits an API error into {field, message} when it names one of the form's fields. */
function fieldError(err) {
  const m = err instanceof ApiError && /^Invalid (schedule\.\w+): (.*)$/.exec(err.message);
  return m && FIELD_OF[m[1]] ? { field: FIELD_OF[m[1]], message: m[2] } : null;
}

const EMPTY = {
  name: "",
  kind: "cron",
  cron: "0 9 * * 1-5",
  tz: "UTC",
  every_seconds: "3600",
  at: "",
  target_kind: "client",
  session_id: "",
  bot_id: "default",
  client_id: "",
  prompt: "",
  missed: "run_once",
  overlap: "skip",
};

/** The draft's schedule as the API takes it. */
function scheduleOf(d) {
  if (d.kind === "cron") return d.tz ? { cron: d.cron, tz: d.tz } : { cron: d.cron };
  if (d.kind === "every_seconds") return { every_seconds: Number(d.every_seconds) };
  const t = new Date(d.at);
  return { at: Number.isNaN(t.getTime()) ? d.at : t.toISOString() };
}

/** A list of firing times. */
const NextRuns = ({ runs, id }) =>
  runs.length === 0
    ? html`<p class="hint" id=${id}>It will not fire.</p>`
    : html`<ol class="plain" id=${id} data-testid="next-runs">${runs.map((r) => html`<li><time datetime=${r}>${when(r)}</time></li>`)}</ol>`;

function CreateForm({ canWrite, onCreated }) {
  const [d, setD] = useState(EMPTY);
  const [errs, setErrs] = useState({});
  const [msg, setMsg] = useState({});
  const [preview, setPreview] = useState(undefined);
  const set = (k) => (e) => {
    setD({ ...d, [k]: e.target.value });
    if (k in errs || ["kind", "cron", "tz", "every_seconds", "at"].includes(k)) {
      setErrs({});
      setPreview(undefined);
    }
  };
  const fail = (err) => {
    const f = fieldError(err);
    if (f) setErrs({ [f.field]: f.message });
    else setMsg({ error: err.message });
  };
  const doPreview = async () => {
    setMsg({});
    setErrs({});
    try {
      setPreview(
        (await api("POST", "/api/v1/jobs/preview", { schedule: scheduleOf(d) })).next_runs,
      );
    } catch (err) {
      setPreview(undefined);
      fail(err);
    }
  };
  const submit = async (e) => {
    e.preventDefault();
    setMsg({});
    setErrs({});
    const target =
      d.target_kind === "session"
        ? { session_id: d.session_id }
        : { bot_id: d.bot_id, client_id: d.client_id };
    try {
      const job = await api("POST", "/api/v1/jobs", {
        name: d.name,
        schedule: scheduleOf(d),
        target,
        prompt: d.prompt,
        missed: d.missed,
        overlap: d.overlap,
      });
      setD(EMPTY);
      setPreview(undefined);
      onCreated(job);
    } catch (err) {
      fail(err);
    }
  };
  // An input of the schedule: labelled, tied to its hint and its error.
  const input = (k, label, hint, props = {}) => {
    const id = `job-${k}`;
    const described = [hint && `${id}-hint`, errs[k] && `${id}-error`].filter(Boolean).join(" ");
    return html`<${Field} id=${id} label=${label} hint=${hint}>
      <input id=${id} ...${props} value=${d[k]} onInput=${set(k)} aria-invalid=${errs[k] ? "true" : undefined}
        aria-describedby=${described || undefined} />
      ${errs[k] && html`<span id=${`${id}-error`} class="error" role="alert">${errs[k]}</span>`}
    </${Field}>`;
  };
  const radio = (
    name,
    value,
    label,
    k,
  ) => html`<span class="pick"><input type="radio" name=${name} id=${`${name}-${value}`} value=${value}
    checked=${d[k] === value} onChange=${set(k)} /> <label for=${`${name}-${value}`}>${label}</label></span>`;
  return html`<section aria-labelledby="job-new-h"><h2 id="job-new-h">New job</h2>
    ${!canWrite && html`<p class="hint" id="job-new-off">Creating a job needs the jobs:write scope; you can still preview a schedule.</p>`}
    <form onSubmit=${submit} aria-describedby=${canWrite ? undefined : "job-new-off"}>
      ${input("name", "Name", null, { required: true, maxlength: 200 })}
      <fieldset class="field picker"><legend>Schedule</legend>
        ${radio("job-kind", "cron", "Cron", "kind")}
        ${radio("job-kind", "every_seconds", "Every N seconds", "kind")}
        ${radio("job-kind", "at", "Once, at a time", "kind")}
      </fieldset>
      ${d.kind === "cron" && input("cron", "Cron expression", "5 fields (minute hour day month weekday) or 6 (seconds first).", { required: true, spellcheck: false })}
      ${d.kind === "cron" && input("tz", "Time zone", "An IANA name such as Europe/Paris; empty is UTC.", { spellcheck: false })}
      ${d.kind === "every_seconds" && input("every_seconds", "Every (seconds)", "Counted from when the job is created or enabled.", { type: "number", min: 1, step: 1, required: true })}
      ${d.kind === "at" && input("at", "At (your local time)", "A past time fires at once; afterwards the job is disabled.", { type: "datetime-local", step: 1, required: true })}
      <div class="copy"><button type="button" onClick=${doPreview}>Preview next runs</button></div>
      ${preview && html`<div aria-live="polite"><h3 id="job-preview-h">Next runs</h3><${NextRuns} runs=${preview} id="job-preview" /></div>`}
      <fieldset class="field picker"><legend>Target</legend>
        ${radio("job-target", "client", "Bot and client id (session made at the first run)", "target_kind")}
        ${radio("job-target", "session", "An existing session", "target_kind")}
      </fieldset>
      ${d.target_kind === "session" && input("session_id", "Session id", null, { required: true, spellcheck: false })}
      ${d.target_kind === "client" && input("bot_id", "Bot id", null, { required: true, spellcheck: false })}
      ${d.target_kind === "client" && input("client_id", "Client id", "The session of this bot and client id is created at the first run.", { required: true, spellcheck: false })}
      <${Field} id="job-prompt" label="Prompt"><textarea id="job-prompt" required rows="3" value=${d.prompt} onInput=${set("prompt")}></textarea></${Field}>
      <${Field} id="job-missed" label="Missed slots after downtime">
        <select id="job-missed" value=${d.missed} onChange=${set("missed")}>
          <option value="run_once">run once for all of them</option><option value="skip">skip them</option></select></${Field}>
      <${Field} id="job-overlap" label="While the previous run still runs">
        <select id="job-overlap" value=${d.overlap} onChange=${set("overlap")}>
          <option value="skip">skip this run</option><option value="queue">queue this run</option></select></${Field}>
      <${ErrorLine} error=${msg.error} />
      <button class="primary" type="submit" disabled=${!canWrite}>Create job</button>
    </form>
  </section>`;
}

/** The jobs page: the list and the form. */
export function JobsPage({ me }) {
  const [list, setList] = useState(undefined);
  const [error, setError] = useState("");
  const canWrite = scopeAllows(me.scopes, "jobs:write");
  const load = () =>
    api("GET", "/api/v1/jobs").then(
      (r) => setList(r.items),
      (e) => setError(e.message),
    );
  useEffect(() => {
    load();
  }, []);
  return html`<h1>Jobs</h1>
    <p class="hint">A job injects a prompt into a session on a schedule; each firing is a run.</p>
    <${ErrorLine} error=${error} />
    ${
      list &&
      html`<div class="scroll"><table>
        <caption class="sr-only">Jobs, newest first</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Schedule</th><th scope="col">Target</th><th scope="col">Enabled</th><th scope="col">Next run</th></tr></thead>
        <tbody>${list.map(
          (j) => html`<tr data-job=${j.name}>
            <td><a href=${`/admin/jobs/${encodeURIComponent(j.id)}`}>${j.name}</a>${j.integration ? html`<br /><span class="hint">from ${j.integration}</span>` : ""}</td>
            <td><code>${scheduleText(j.schedule)}</code></td>
            <td><${TargetText} target=${j.target} /></td>
            <td>${j.enabled ? "yes" : "no"}</td>
            <td>${when(j.next_run_at)}</td>
          </tr>`,
        )}</tbody></table></div>
        ${list.length === 0 && html`<p class="hint">No jobs yet.</p>`}`
    }
    <${CreateForm} canWrite=${canWrite} onCreated=${(job) => navigate(`/admin/jobs/${encodeURIComponent(job.id)}?created=1`)} />`;
}

/** One job: its next runs, its runs (live), run now, enable/disable, delete. */
export function JobPage({ me, param }) {
  const [job, setJob] = useState(undefined);
  const [runs, setRuns] = useState(undefined);
  const [msg, setMsg] = useState(
    new URLSearchParams(location.search).get("created") ? { ok: "Job created." } : {},
  );
  const canWrite = scopeAllows(me.scopes, "jobs:write");
  const path = `/api/v1/jobs/${encodeURIComponent(param)}`;
  const loadJob = () => api("GET", path).then(setJob, (e) => setMsg({ error: e.message }));
  const loadRuns = () =>
    api("GET", `${path}/runs?limit=50`).then(
      (r) => setRuns(r.items),
      () => {},
    );
  useEffect(() => {
    loadJob();
    loadRuns();
    // A run's status is read from its task: any task event may change one.
    return subscribe(
      (type) => {
        if (type === "task") loadRuns();
      },
      () => {
        loadJob();
        loadRuns();
      },
    );
  }, []);
  const act = async (fn, ok) => {
    setMsg({});
    try {
      await fn();
      setMsg({ ok });
    } catch (e) {
      setMsg({ error: e.message });
    }
  };
  const runNow = () =>
    act(async () => {
      const r = await api("POST", `${path}/run`);
      setRuns((l) => [r, ...(l ?? []).filter((x) => x.id !== r.id)]);
    }, "Run started.");
  const toggle = () =>
    act(
      async () => setJob(await api("PUT", path, { enabled: !job.enabled })),
      job.enabled ? "Job disabled." : "Job enabled.",
    );
  const remove = async () => {
    if (!confirm(`Delete the job “${job.name}” and its runs?`)) return;
    try {
      await api("DELETE", path);
      navigate("/admin/jobs");
    } catch (e) {
      setMsg({ error: e.message });
    }
  };
  if (!job)
    return html`<h1>Job</h1><${ErrorLine} error=${msg.error} />${!msg.error && html`<p class="loading">Loading…</p>`}`;
  return html`<p><a href="/admin/jobs">All jobs</a></p>
    <h1>Job ${job.name}</h1>
    <${ErrorLine} error=${msg.error} /><${OkLine} ok=${msg.ok} />
    <dl class="fields">
      <dt>Schedule</dt><dd><code>${scheduleText(job.schedule)}</code></dd>
      <dt>Target</dt><dd><${TargetText} target=${job.target} /></dd>
      <dt>Prompt</dt><dd>${job.prompt}</dd>
      <dt>Enabled</dt><dd data-testid="job-enabled">${job.enabled ? "yes" : "no"}</dd>
      <dt>Missed slots</dt><dd>${job.missed}</dd>
      <dt>Overlap</dt><dd>${job.overlap}</dd>
      ${job.integration && html`<dt>Declared by</dt><dd>${job.integration} (jobs.ts)</dd>`}
    </dl>
    ${!canWrite && html`<p class="hint">Run now, enable/disable and delete need the jobs:write scope.</p>`}
    <div class="copy">
      <button type="button" class="primary" disabled=${!canWrite} onClick=${runNow}>Run now</button>
      <button type="button" disabled=${!canWrite} onClick=${toggle}>${job.enabled ? "Disable" : "Enable"}</button>
      <button type="button" disabled=${!canWrite} onClick=${remove}>Delete job</button>
    </div>
    <section aria-labelledby="job-next-h"><h2 id="job-next-h">Next runs</h2>
      <${NextRuns} runs=${job.next_runs} id="job-next" /></section>
    <section aria-labelledby="job-runs-h"><h2 id="job-runs-h">Runs</h2>
      ${!runs && html`<p class="loading">Loading…</p>`}
      ${
        runs &&
        html`<div class="scroll"><table>
        <caption class="sr-only">Runs, newest slot first</caption>
        <thead><tr><th scope="col">Slot</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Task</th><th scope="col">Covers</th></tr></thead>
        <tbody>${runs.map(
          (r) => html`<tr data-run=${r.id}>
            <td>${when(r.scheduled_for)}${r.manual ? html` <span class="hint">(run now)</span>` : ""}</td>
            <td data-testid="run-status"><${Status} value=${r.status} /></td>
            <td>${r.reason ?? "—"}</td>
            <td>${r.task_id ? html`<a href=${`/admin/tasks?session_id=${encodeURIComponent(r.session_id)}`} aria-label=${`Task ${r.task_id}`}><code>${r.task_id}</code></a>` : "—"}</td>
            <td>${r.covers > 1 ? `${r.covers} slots` : "1"}</td>
          </tr>`,
        )}</tbody></table></div>
        ${runs.length === 0 && html`<p class="hint">No runs yet.</p>`}`
      }
    </section>`;
}
