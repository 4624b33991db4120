/**
 * The chaos suite, short (test/chaos/engine.ts `SHORT`): two `switchyard serve` processes
 * on one PostgreSQL database, 100 turns across 5 sessions (REST and the Slack adapter), 200
 * events to 4 subscribers and a job every second, while one instance or the other is
 * SIGKILLed every few seconds (at least twice) and restarted. Asserts the goals: nothing lost, no order violation,
 * no job slot fired twice or never, duplicates only where a kill left an outcome unknown.
 * PostgreSQL only (several instances need a shared database); the full size is
 * `npm run chaos`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runChaos, SHORT } from "./chaos/engine.ts";
import { formatReport, missedGoals } from "./chaos/report.ts";
import { runsOn } from "./support/db.ts";
import { killServerProcesses } from "./support/serve-process.ts";

describe("chaos: two instances under SIGKILL (postgres)", runsOn("postgres"), () => {
  test("nothing lost, doubled without cause or out of order", async (t) => {
    try {
      const report = await runChaos(SHORT, (line) => t.diagnostic(line));
      const table = formatReport(report);
      for (const line of table.split("\n")) t.diagnostic(line);
      assert.ok(report.kills.A! + report.kills.B! >= 2, `at least 2 kills happened\n${table}`);
      assert.deepEqual(missedGoals(report), [], table);
    } finally {
      await killServerProcesses();
    }
  });
});
