/**
 * `npm test` reports what really ran: no `--test-force-exit` (it truncates the reporter's
 * output, nodejs/node#64833), PostgreSQL suites listed as skipped with the reason when no
 * server is configured (and an error when CI requires them), and a TAP report whose summary
 * disagrees with its test points rejected by `scripts/check-test-report.ts`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { readTapReport, reportProblems } from "../scripts/check-test-report.ts";
import { BROWSER_SKIP_REASON } from "./support/browser.ts";
import { POSTGRES_SKIP_REASON } from "./support/db.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");

/** Runs one test file as `npm test` runs it, TAP on stdout, with `env` and no PostgreSQL URL. */
function runTestFile(file: string, env: Record<string, string> = {}) {
  return runCommand(
    process.execPath,
    ["--test", "--test-concurrency=1", "--test-reporter=tap", file],
    ROOT,
    env,
  );
}

test("the test script lets every file exit on its own (no --test-force-exit)", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  assert.match(pkg.scripts.test, /^node --test .*'test\/\*\*\/\*\.test\.ts'$/);
  assert.doesNotMatch(pkg.scripts.test, /force-exit/);
});

describe("browser suites without a browser", () => {
  const noBrowser = { SWITCHYARD_TEST_CHROMIUM: "/nonexistent/chromium" };
  test("are registered and reported as skipped with the reason", async () => {
    const r = await runTestFile("test/admin-ui.test.ts", noBrowser);
    assert.equal(r.code, 0, r.out + r.err);
    const skipped = `ok 1 - admin UI in Chromium (sqlite) # SKIP ${BROWSER_SKIP_REASON}`;
    assert.ok(r.out.split("\n").includes(skipped), r.out);
  });

  test("fail the file when SWITCHYARD_TEST_REQUIRE_BROWSER=1 (as .ci/run sets it)", async () => {
    const r = await runTestFile("test/admin-ui.test.ts", {
      ...noBrowser,
      SWITCHYARD_TEST_REQUIRE_BROWSER: "1",
    });
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out + r.err, /SWITCHYARD_TEST_REQUIRE_BROWSER=1 but no Chromium/);
  });

  test(".ci/run installs Chromium before npm ci and requires the browser suites", () => {
    const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");
    assert.match(ci, /^export SWITCHYARD_TEST_REQUIRE_BROWSER=1$/m);
    const install = ci.indexOf("apt-get install -y chromium");
    assert.ok(install > 0 && install < ci.indexOf("npm ci"), "chromium is installed before npm ci");
  });
});

describe("PostgreSQL suites without a PostgreSQL server", () => {
  test("are registered and reported as skipped with the reason", async () => {
    const r = await runTestFile("test/api-keys.test.ts");
    assert.equal(r.code, 0, r.out + r.err);
    const skipped = `ok 2 - API keys (postgres) # SKIP ${POSTGRES_SKIP_REASON}`;
    assert.ok(r.out.split("\n").includes(skipped), r.out);
    assert.ok(r.out.split("\n").includes("ok 1 - API keys (sqlite)"), r.out);
    const report = readTapReport(r.out);
    assert.equal(report.suitePoints, 2, "both suites are listed");
    assert.deepEqual(reportProblems(report), []);
  });

  test("fail the file when SWITCHYARD_TEST_REQUIRE_POSTGRES=1 (as .ci/run sets it)", async () => {
    const r = await runTestFile("test/api-keys.test.ts", {
      SWITCHYARD_TEST_REQUIRE_POSTGRES: "1",
    });
    assert.notEqual(r.code, 0, r.out);
    assert.match(
      r.out + r.err,
      /SWITCHYARD_TEST_REQUIRE_POSTGRES=1 but SWITCHYARD_TEST_POSTGRES_URL/,
    );
    assert.match(reportProblems(readTapReport(r.out)).join("\n"), /1 failed/);
  });

  test("every suite or test in a loop over ALL_BACKENDS is registered with runsOn(backend)", () => {
    const missing: string[] = [];
    for (const file of readdirSync(join(ROOT, "test")).filter((f) => f.endsWith(".test.ts"))) {
      const lines = readFileSync(join(ROOT, "test", file), "utf8").split("\n");
      let inLoop = false;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        if (line.startsWith("for (const backend of ALL_BACKENDS) {")) inLoop = true;
        else if (line.startsWith("}")) inLoop = false;
        else if (inLoop && /^ {2}(describe|test|it)\(/.test(line)) {
          // The options follow the name, on this line or (when wrapped) the next two.
          if (
            !lines
              .slice(i, i + 3)
              .join(" ")
              .includes("runsOn(backend)")
          )
            missing.push(`test/${file}:${i + 1}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  test(".ci/run requires them", () => {
    const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");
    assert.match(ci, /^export SWITCHYARD_TEST_REQUIRE_POSTGRES=1$/m);
    assert.match(ci, /^ {2}npm test$/m, "runs the README's test command");
    assert.match(ci, /--test-reporter=tap --test-reporter-destination=\$report/);
    assert.match(ci, /^npx node scripts\/check-test-report\.ts "\$report"$/m);
  });
});

test("startTestApp releases the fake LLM when the database cannot be created, so the file exits", async () => {
  // A child process whose PostgreSQL is unreachable: startTestApp rejects, then nothing of
  // it may keep the process alive. It prints its active resources and must exit by itself.
  const script = [
    `import { startTestApp } from ${JSON.stringify(join(ROOT, "test/support/app.ts"))};`,
    `await startTestApp({ backend: "postgres" }).then(() => console.log("started"), () => console.log("rejected"));`,
    `setImmediate(() => console.log("active:", process.getActiveResourcesInfo().join(",")));`,
  ].join("\n");
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      SWITCHYARD_TEST_POSTGRES_URL: "postgres://postgres@127.0.0.1:1/unreachable",
    },
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  // Not a speed check: a generous bound so a leak fails this test instead of hanging the run.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [code, signal] = await once(child, "exit");
  clearTimeout(timer);
  assert.match(out, /^rejected$/m, out);
  assert.equal(signal, null, `the child never exited on its own; ${out}`);
  assert.equal(code, 0, out);
});

describe("check-test-report", () => {
  const point = (indent: string, n: number, name: string, type: "test" | "suite") => [
    `${indent}ok ${n} - ${name}`,
    `${indent}  ---`,
    `${indent}  type: '${type}'`,
    `${indent}  ...`,
  ];
  const summary = (tests: number, extra: Partial<Record<string, number>> = {}) =>
    Object.entries({ tests, suites: 1, pass: tests, fail: 0, cancelled: 0, skipped: 0, ...extra })
      .map(([k, v]) => `# ${k} ${v}`)
      .join("\n");
  const body = [
    "TAP version 13",
    ...point("    ", 1, "a", "test"),
    ...point("    ", 2, "b", "test"),
    "    1..2",
    ...point("", 1, "suite", "suite"),
    ...point("", 2, "c", "test"),
    "1..2",
  ].join("\n");

  test("accepts a whole, green report and counts tests apart from suites", () => {
    const report = readTapReport(`${body}\n${summary(3)}\n`);
    assert.equal(report.testPoints, 3);
    assert.equal(report.suitePoints, 1);
    assert.deepEqual(reportProblems(report), []);
  });

  test("rejects a summary that counts tests the output does not show (truncation)", () => {
    assert.deepEqual(reportProblems(readTapReport(`${body}\n${summary(4)}\n`)), [
      "the summary counts 4 tests but 3 were reported",
    ]);
  });

  test("rejects a report cut off before its summary", () => {
    const problems = reportProblems(readTapReport(body));
    assert.ok(problems.includes('the summary has no "# tests" line'), problems.join("; "));
  });

  test("rejects failed and cancelled tests", () => {
    const report = readTapReport(`${body}\n${summary(3, { fail: 1, cancelled: 2 })}\n`);
    assert.deepEqual(reportProblems(report), ["1 failed", "2 were cancelled"]);
  });
});
