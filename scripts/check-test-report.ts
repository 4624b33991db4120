/**
 * Checks a node:test TAP report for honesty: the summary is there, every test it counts
 * appears as a test point (so the output was not truncated), and nothing failed or was
 * cancelled. `.ci/run` has `npm test` write a TAP copy of its report (a second
 * `--test-reporter` through NODE_OPTIONS) and runs this on it.
 *
 * Usage: `node scripts/check-test-report.ts <tap-file>`; exits 0 when the report is whole
 * and green, 1 with the reasons on stderr otherwise.
 */
import { readFileSync } from "node:fs";

/** What a TAP report from node:test says about itself. */
export interface TestReport {
  /** The `# tests`, `# pass`, … summary counts; a key is missing when its line is. */
  summary: Partial<Record<"tests" | "suites" | "pass" | "fail" | "cancelled" | "skipped", number>>;
  /** Test points (`ok`/`not ok` lines, any depth) whose YAML block says they are not a suite. */
  testPoints: number;
  /** Test points that are suites. */
  suitePoints: number;
}

const SUMMARY_KEYS = ["tests", "suites", "pass", "fail", "cancelled", "skipped"] as const;

/** Reads the summary and counts the test points of a node:test TAP report. */
export function readTapReport(tap: string): TestReport {
  const lines = tap.split(/\r?\n/);
  const summary: TestReport["summary"] = {};
  let testPoints = 0;
  let suitePoints = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const s = /^# (\w+) (\d+)$/.exec(line);
    if (s && (SUMMARY_KEYS as readonly string[]).includes(s[1]!)) {
      summary[s[1] as (typeof SUMMARY_KEYS)[number]] = Number(s[2]);
      continue;
    }
    const point = /^(\s*)(?:not )?ok \d+ /.exec(line);
    if (!point) continue;
    // The point's YAML block follows at a deeper indent and names its type (test or suite).
    let suite = false;
    for (let j = i + 1; j < lines.length; j++) {
      const next = lines[j]!;
      if (!next.startsWith(`${point[1]}  `)) break;
      if (next.trim() === "type: 'suite'") suite = true;
      if (next.trim() === "...") break;
    }
    if (suite) suitePoints++;
    else testPoints++;
  }
  return { summary, testPoints, suitePoints };
}

/** The reasons a report is not whole and green; empty when it is. */
export function reportProblems(report: TestReport): string[] {
  const { summary, testPoints } = report;
  const problems: string[] = [];
  for (const key of SUMMARY_KEYS) {
    if (summary[key] === undefined) problems.push(`the summary has no "# ${key}" line`);
  }
  if (summary.tests !== undefined && summary.tests !== testPoints) {
    problems.push(`the summary counts ${summary.tests} tests but ${testPoints} were reported`);
  }
  if (summary.tests === 0) problems.push("no tests ran");
  if (summary.fail) problems.push(`${summary.fail} failed`);
  if (summary.cancelled) problems.push(`${summary.cancelled} were cancelled`);
  return problems;
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: check-test-report <tap-file>");
    process.exit(2);
  }
  const report = readTapReport(readFileSync(file, "utf8"));
  const problems = reportProblems(report);
  const { tests, pass, skipped } = report.summary;
  if (problems.length) {
    console.error(`test report not honest or not green:\n- ${problems.join("\n- ")}`);
    process.exit(1);
  }
  console.log(
    `test report: ${tests} tests reported and counted (${pass} passed, ${skipped} skipped), ` +
      `${report.suitePoints} suites`,
  );
}
