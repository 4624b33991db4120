/**
 * Runs the benchmarks in bench/, one after the other: every top-level `*.ts` file that
 * exports `run(args)`, except this one and names starting with `_`.
 *
 *   npm run bench                      # all of them
 *   npm run bench -- turns             # those whose name contains "turns"
 *   npm run bench -- turns --latency=0 --sessions=10   # options go to the benchmark
 *   npm run bench -- deliveries --subs=16 --rounds=3   # event deliveries/s vs bare POSTs
 *   npm run bench -- idle --idle-s=5 --turns=1000      # a quick run of the idle bench
 *
 * A watchdog ends the process if one benchmark runs longer than BENCH_TIMEOUT_S (default
 * 300 s; the idle bench alone idles 60 + 30 s).
 */
import { readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

interface BenchModule {
  description?: string;
  run(args: string[]): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const filter = argv[0] && !argv[0].startsWith("-") ? argv[0] : undefined;
const args = filter === undefined ? argv : argv.slice(1);

const timeoutS = Number(process.env.BENCH_TIMEOUT_S ?? 300);
/** Ends the process when the benchmark `name` has not finished after `timeoutS`. */
const startWatchdog = (name: string) => {
  const timer = setTimeout(() => {
    console.error(`bench: ${name} still running after ${timeoutS} s; giving up`);
    process.exit(2);
  }, timeoutS * 1000);
  timer.unref();
  return timer;
};

const names = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("_"))
  .filter((f) => f !== basename(fileURLToPath(import.meta.url)))
  .map((f) => f.slice(0, -3))
  .filter((n) => filter === undefined || n.includes(filter))
  .sort();

if (names.length === 0) {
  console.error(`bench: no benchmark matches "${filter}"`);
  process.exit(1);
}

let failed = false;
for (const name of names) {
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as Partial<BenchModule>;
  if (typeof mod.run !== "function") continue;
  console.log(`\n== ${name}${mod.description ? `: ${mod.description}` : ""}`);
  const started = performance.now();
  const watchdog = startWatchdog(name);
  try {
    await mod.run(args);
    console.log(`== ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    failed = true;
    console.error(`== ${name} failed:`, err);
  } finally {
    clearTimeout(watchdog);
  }
}

process.exitCode = failed ? 1 : 0;
// Everything is closed by now; if a stray handle keeps the loop alive, do not hang.
setTimeout(() => process.exit(), 2000).unref();
