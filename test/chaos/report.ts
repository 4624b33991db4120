/**
 * The chaos suite's goals and its printed table. Goals (issue 14): 0 turns lost, 0 events
 * lost, 0 order violations, 0 job slots fired twice or never; duplicates (model calls,
 * deliveries) only where an outcome was unknown, each counted and explained, so 0
 * unexplained ones; and the run drained in time.
 */
import type { Counted } from "./check.ts";
import type { ChaosReport } from "./engine.ts";

/** One printed figure: its name, value, the goal it is held to (if any) and why it counted. */
interface Row {
  name: string;
  value: string;
  goal?: { met: boolean; text: string };
  notes?: string[];
}

const zero = (name: string, c: Counted): Row => ({
  name,
  value: String(c.count),
  goal: { met: c.count === 0, text: "0" },
  notes: c.notes,
});
const info = (name: string, c: Counted): Row => ({
  name,
  value: String(c.count),
  goal: { met: true, text: "counted, explained" },
  notes: c.notes,
});

/** The rows of a report. */
function rows(r: ChaosReport): Row[] {
  const t = r.turns;
  const e = r.events;
  const j = r.job;
  return [
    { name: "turns injected (REST + Slack)", value: String(t.injected) },
    { name: "turns sent again after a cut connection", value: String(t.resent) },
    zero("turns lost", t.lost),
    info("duplicate model calls, explained by lease loss", t.extraCallsExplained),
    zero("duplicate model calls, unexplained", t.extraCallsUnexplained),
    info("duplicate reply deliveries, unknown outcome", t.dupDeliveriesExplained),
    zero("duplicate reply deliveries, unexplained", t.dupDeliveriesUnexplained),
    zero("per-session order violations", t.orderViolations),
    { name: "job slots (every 1 s)", value: `${j.slots} (${j.runs} runs)` },
    zero("job slots fired twice", j.twice),
    zero("job slots never fired", j.never),
    {
      name: "job slots made up by a catch-up run (missed: run_once) / all instances down",
      value: `${j.caughtUp} / ${j.caughtUpAllDown}`,
    },
    zero("job runs not finished", j.unfinished),
    { name: "events emitted / accepted", value: `${e.emitted} / ${e.accepted}` },
    {
      name: "events cut mid-request (unknown outcome) / of them recorded",
      value: `${e.cut} / ${e.cutButRecorded}`,
    },
    zero("event deliveries lost (event × subscriber)", e.lost),
    info("duplicate event deliveries, unknown outcome", e.dupExplained),
    zero("duplicate event deliveries, unexplained", e.dupUnexplained),
    {
      name: "drained in time",
      value: `${r.drained ? "yes" : "no"} (${(r.drainMs / 1000).toFixed(1)} s)`,
      goal: { met: r.drained, text: "yes" },
    },
  ];
}

/** The goals a report misses, one line each (empty when it meets them all). */
export function missedGoals(r: ChaosReport): string[] {
  return rows(r)
    .filter((row) => row.goal && !row.goal.met)
    .map(
      (row) =>
        `${row.name}: ${row.value} (goal ${row.goal!.text})${row.notes?.length ? `\n    ${row.notes.join("\n    ")}` : ""}`,
    );
}

/** The report as a table, with what it ran against and why each count counted. */
export function formatReport(r: ChaosReport): string {
  const s = r.size;
  const lines = [
    `chaos: 2 instances on one PostgreSQL ${r.env.postgres} database, Node ${r.env.node}, ${r.env.cpus} CPUs`,
    `  ${(s.restSessions + s.slackSessions) * s.turnsPerSession} turns across ${s.restSessions} REST + ${s.slackSessions} Slack sessions, ` +
      `${s.events} events to 4 subscribers, a job every 1 s; fake LLM ${s.llmLatencyMs} ms`,
    `  load ${(r.loadMs / 1000).toFixed(1)} s, SIGKILL + restart every ~${s.killEveryMs / 1000} s: ` +
      Object.entries(r.kills)
        .map(([n, k]) => `${n} ${k}×`)
        .join(", ") +
      ` (back after ${(r.restartMs / 1000).toFixed(1)} s on average)`,
    "",
  ];
  const all = rows(r);
  const w = Math.max(...all.map((x) => x.name.length));
  const v = Math.max(...all.map((x) => x.value.length));
  lines.push(`  ${"figure".padEnd(w)}  ${"value".padStart(v)}  goal`);
  for (const row of all) {
    const goal = row.goal ? `${row.goal.text}${row.goal.met ? "" : "  ← MISSED"}` : "";
    lines.push(`  ${row.name.padEnd(w)}  ${row.value.padStart(v)}  ${goal}`.trimEnd());
    for (const n of row.notes ?? []) lines.push(`      ${n}`);
  }
  const missed = missedGoals(r).length;
  lines.push("", missed === 0 ? "chaos: every goal met" : `chaos: ${missed} goal(s) missed`);
  return lines.join("\n");
}
