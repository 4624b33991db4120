/**
 * `npm run mutate [-- <module>… | --mutate <file>] [stryker options]`: mutation testing of
 * the modules in stryker.config.mjs, one Stryker run per module so a mutant is tried only
 * against its module's tests. Prints the mutation score per module and writes
 * reports/mutation/index.html linking each module's HTML report. Exits 1 when a Stryker run
 * fails (not when a score is low: the goal of 80 % is read from the table).
 *
 * Examples: `npm run mutate`, `npm run mutate -- ssrf redaction`,
 * `npm run mutate -- --mutate src/lib/redact.ts`.
 * PostgreSQL suites are left out (SWITCHYARD_TEST_POSTGRES_URL is unset for the run): the
 * SQLite runs exercise the same code paths and keep a run within reach of a small machine.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

/** A module of stryker.config.mjs: the files it mutates and the test files that cover them. */
interface MutationModule {
  mutate: string[];
  tests: string[];
}
const configFile = "../stryker.config.mjs";
const { modules } = (await import(configFile)) as { modules: Record<string, MutationModule> };
type ModuleName = string;
const names = Object.keys(modules);

/** Score of one module's JSON report (mutation-testing-report-schema). */
interface Score {
  module: string;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  errors: number;
  score: number;
  seconds: number;
}

function parseArgs(argv: string[]): { chosen: ModuleName[]; passthrough: string[] } {
  const chosen: ModuleName[] = [];
  const passthrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--mutate" || a === "-m") {
      const file = argv[++i] ?? "";
      const path = file.replace(/:[\d:-]+$/, "");
      const owners = names.filter((n) => modules[n].mutate.some((m) => m.startsWith(path)));
      if (owners.length === 0) throw new Error(`${file} is in no module of stryker.config.mjs`);
      chosen.push(...owners);
      passthrough.push("--mutate", file);
    } else if (names.includes(a)) {
      chosen.push(a);
    } else {
      passthrough.push(a);
    }
  }
  return { chosen: chosen.length > 0 ? [...new Set(chosen)] : names, passthrough };
}

function readScore(module: string, seconds: number): Score {
  const report = JSON.parse(readFileSync(`reports/mutation/${module}.json`, "utf8")) as {
    files: Record<string, { mutants: Array<{ status: string }> }>;
  };
  const count = (status: string) =>
    Object.values(report.files)
      .flatMap((f) => f.mutants)
      .filter((m) => m.status === status).length;
  const killed = count("Killed");
  const timeout = count("Timeout");
  const survived = count("Survived");
  const noCoverage = count("NoCoverage");
  const errors = count("RuntimeError") + count("CompileError");
  const valid = killed + timeout + survived + noCoverage;
  const score = valid === 0 ? 100 : (100 * (killed + timeout)) / valid;
  return { module, killed, timeout, survived, noCoverage, errors, score, seconds };
}

const { chosen, passthrough } = parseArgs(process.argv.slice(2));
const env = { ...process.env };
delete env.SWITCHYARD_TEST_POSTGRES_URL;
const scores: Score[] = [];
let failed = false;
for (const module of chosen) {
  console.log(`\n=== ${module}: ${modules[module].mutate.join(", ")}`);
  const started = Date.now();
  const r = spawnSync("stryker", ["run", "stryker.config.mjs", ...passthrough], {
    stdio: "inherit",
    env: { ...env, SWITCHYARD_MUTATE_MODULE: module },
  });
  if (r.status !== 0) {
    failed = true;
    console.error(`stryker failed for ${module} (exit ${r.status ?? r.signal})`);
    continue;
  }
  scores.push(readScore(module, Math.round((Date.now() - started) / 1000)));
}

const header = "module | score | killed | timeout | survived | no coverage | errors | time (s)";
const rows = scores.map(
  (s) =>
    `${s.module} | ${s.score.toFixed(1)} % | ${s.killed} | ${s.timeout} | ${s.survived} | ${s.noCoverage} | ${s.errors} | ${s.seconds}`,
);
console.log(`\n${header}\n${rows.join("\n")}`);
mkdirSync("reports/mutation", { recursive: true });
const links = scores
  .map(
    (s) =>
      `<tr><td><a href="${s.module}.html">${s.module}</a></td><td>${s.score.toFixed(1)} %</td><td>${s.killed}</td><td>${s.timeout}</td><td>${s.survived}</td><td>${s.noCoverage}</td><td>${s.seconds}</td></tr>`,
  )
  .join("\n");
writeFileSync(
  "reports/mutation/index.html",
  `<!doctype html><meta charset="utf-8"><title>switchyard mutation scores</title>
<h1>Mutation scores</h1><table border="1" cellpadding="4">
<tr><th>module</th><th>score</th><th>killed</th><th>timeout</th><th>survived</th><th>no coverage</th><th>time (s)</th></tr>
${links}</table>`,
);
process.exit(failed ? 1 : 0);
