/**
 * `npm run chaos`: the chaos suite at full size (test/chaos/engine.ts `FULL`: two instances
 * on one PostgreSQL database, 2,000 turns across 50 sessions through REST and the Slack
 * adapter, 5,000 events to 4 subscribers, a job every second, SIGKILL of one instance or
 * the other every ~5 s). Prints the figures as a table; exits 1 when a goal is missed, 2
 * when it cannot run (no `SWITCHYARD_TEST_POSTGRES_URL`).
 *
 *   SWITCHYARD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test npm run chaos
 *   npm run chaos -- --short      # the size test/chaos.test.ts runs
 *   npm run chaos -- --scale=0.5  # half the turns, events and load time
 */

import { type ChaosSize, FULL, runChaos, SHORT } from "../test/chaos/engine.ts";
import { formatReport, missedGoals } from "../test/chaos/report.ts";
import { postgresUrl } from "../test/support/db.ts";

if (!postgresUrl) {
  console.error(
    "chaos: set SWITCHYARD_TEST_POSTGRES_URL (a PostgreSQL server; a fresh database is made)",
  );
  process.exit(2);
}
const args = process.argv.slice(2);
const scaleArg = args.find((a) => a.startsWith("--scale="));
const scale = scaleArg ? Number(scaleArg.slice("--scale=".length)) : 1;
if (!(scale > 0)) {
  console.error(`chaos: --scale must be a positive number, not ${scaleArg}`);
  process.exit(2);
}
const base = args.includes("--short") ? SHORT : FULL;
const size: ChaosSize = {
  ...base,
  turnsPerSession: Math.max(1, Math.round(base.turnsPerSession * scale)),
  events: Math.round(base.events * scale),
  durationMs: Math.round(base.durationMs * scale),
};
const report = await runChaos(size, (line) => console.error(`chaos: ${line}`));
console.log(formatReport(report));
process.exit(missedGoals(report).length === 0 ? 0 : 1);
