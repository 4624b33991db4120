/**
 * Turns benchmark: agent turns per second and inject→delivery latency through the whole
 * server (REST inject → task queue → agent loop → fake LLM → outbox → webhook).
 *
 * For each cell (database, fake LLM latency, sessions, worker concurrency) a fresh server
 * is started on 127.0.0.1 with a temp data dir and a temp SQLite file or a fresh PostgreSQL
 * database. By default it runs in its own process, as users run it: `node src/main.ts serve`
 * (the pinned Node, `process.execPath`) configured through the environment, stopped with
 * SIGTERM at the end of the cell. The fake LLM, the webhook receiver and the load generator
 * stay in this process. With `--in-process` the server runs in this process instead
 * (`startTestApp`), sharing its thread with the fake LLM, receiver and clients.
 *
 * Per cell: a server warm-up on 10 extra sessions (200 turns at 0 ms LLM latency, so that a
 * fresh server process is JIT-warm), then N sessions are created and warmed up with one turn
 * each at the cell's latency, then all N × M messages are injected with `run_agent: true` by
 * a pool of concurrent clients, as fast as the API accepts them, each with
 * `dispatch_config: {type: "webhook", url}` pointing at a lean receiver that timestamps each
 * delivery when its body arrives.
 *
 * Figures per cell:
 * - turns/s: deliveries / (last delivery − first inject)
 * - e2e p50/p99: inject sent → delivery received (includes waiting behind the session's
 *   earlier turns, so with a backlog it grows with the run length)
 * - turn p50/p99: delivery − max(inject sent, previous delivery of the same session), i.e.
 *   the time one turn takes once its session is free (the queueing on the session removed)
 * - inject/s: injects accepted per second during the inject phase
 * - cpu/turn: CPU time per delivered turn, from the first inject to the last delivery, of
 *   the server process (/proc/<pid>/stat utime + stime, all threads) when it runs in its
 *   own process, or of this whole process (server, fake LLM, receiver, clients) with
 *   `--in-process`
 * - bench cpu/turn: CPU time of this process (fake LLM, receiver, clients) per turn, when
 *   the server runs in its own process
 *
 * With more sessions than the default worker concurrency (16), a cell runs twice: with 16
 * workers and with SWITCHYARD_WORKER_CONCURRENCY = sessions. PostgreSQL cells (10 sessions
 * by default) run when SWITCHYARD_TEST_POSTGRES_URL is set, each with one instance and
 * with two (`inst` 2: two servers on one database, each with the cell's workers, the
 * inject clients alternating between them). On PostgreSQL the bench then measures the
 * start-of-task delay (`turns/start-delay.ts`): inject sent → task started, one instance
 * (A → A) beside two (inject on A, which runs no tasks, started on B), p50/p99.
 *
 * Options (after the bench name): --latency=0,100 --sessions=1,10,100 --workers=N
 * --backend=sqlite,postgres --instances=1,2 (PostgreSQL cells) --start-delay=N (tasks
 * measured, 0 to skip; default 200) --scale=0.5 (multiplies the turn counts) --in-process.
 *
 * This file plans the cells and runs them; one cell is `turns/cell.ts`, its server
 * `turns/server.ts`, the output `turns/report.ts`.
 */
import { availableParallelism } from "node:os";
import { postgresUrl } from "../test/support/db.ts";
import { startFakeLlm } from "../test/support/fake-llm.ts";
import { listOption, option } from "./support/args.ts";
import { startReceiver } from "./support/receiver.ts";
import { type Cell, type CellResult, runCell } from "./turns/cell.ts";
import {
  fmt,
  printCellLine,
  printHeader,
  printMode,
  printNotes,
  printStartDelay,
  printTable,
} from "./turns/report.ts";
import { measureStartDelay, type StartDelayResult } from "./turns/start-delay.ts";

export const description = "agent turns/s and inject→webhook latency (fake LLM 0/100 ms)";

type Backend = Cell["backend"];

/** Worker concurrency of the server unless a cell needs more (SWITCHYARD_WORKER_CONCURRENCY default). */
const DEFAULT_WORKERS = 16;

/**
 * Turns per session by (latency, sessions): ~1000–2000 turns at 0 ms; at 100 ms enough for
 * ~5 s per cell at the theoretical rate (sessions × 10 turns/s, capped by the workers).
 */
function turnsPerSession(latencyMs: number, sessions: number): number {
  if (latencyMs === 0) return sessions === 1 ? 300 : sessions <= 10 ? 150 : 20;
  return sessions === 1 ? 50 : sessions <= 10 ? 60 : 20;
}

function parseArgs(args: string[]) {
  const latencies = (listOption(args, "latency") ?? ["0", "100"]).map(Number);
  const sessions = (listOption(args, "sessions") ?? ["1", "10", "100"]).map(Number);
  const backends = (listOption(args, "backend") ??
    (postgresUrl ? ["sqlite", "postgres"] : ["sqlite"])) as Backend[];
  const workers = option(args, "workers") ? Number(option(args, "workers")) : undefined;
  const scale = option(args, "scale") ? Number(option(args, "scale")) : 1;
  const explicit = args.some((a) => /^--(latency|sessions|backend)=/.test(a));
  const inProcess = args.includes("--in-process");
  const instances = (listOption(args, "instances") ?? ["1", "2"]).map(Number);
  const startDelayTasks = option(args, "start-delay") ? Number(option(args, "start-delay")) : 200;
  return {
    latencies,
    sessions,
    backends,
    workers,
    scale,
    explicit,
    inProcess,
    instances,
    startDelayTasks,
  };
}

function planCells(opts: ReturnType<typeof parseArgs>): Cell[] {
  const cells: Cell[] = [];
  const add = (backend: Backend, latencyMs: number, sessions: number, workers: number) => {
    let tps = turnsPerSession(latencyMs, sessions);
    // With fewer workers than sessions a cell is capped by the workers: keep it short.
    if (workers < sessions) tps = Math.ceil(tps / 2);
    tps = Math.max(2, Math.round(tps * opts.scale));
    // Several instances share one PostgreSQL database; SQLite is one process.
    for (const instances of backend === "postgres" ? opts.instances : [1]) {
      cells.push({ backend, latencyMs, sessions, workers, turnsPerSession: tps, instances });
    }
  };
  for (const backend of opts.backends) {
    if (backend === "postgres" && !postgresUrl) {
      console.error("turns: SWITCHYARD_TEST_POSTGRES_URL is not set; skipping postgres");
      continue;
    }
    for (const latency of opts.latencies) {
      for (const sessions of opts.sessions) {
        // Without explicit options PostgreSQL runs the 10-session cells only.
        if (backend === "postgres" && !opts.explicit && sessions !== 10) continue;
        if (opts.workers !== undefined) {
          add(backend, latency, sessions, opts.workers);
        } else {
          // More sessions than the default concurrency: run with the default and with
          // one worker slot per session.
          if (sessions > DEFAULT_WORKERS) add(backend, latency, sessions, DEFAULT_WORKERS);
          add(backend, latency, sessions, Math.max(sessions, DEFAULT_WORKERS));
        }
      }
    }
  }
  return cells;
}

/** Runs the benchmark; `args` are the options described in the module comment. */
export async function run(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const cells = planCells(opts);
  const env = { node: process.version, cpus: availableParallelism() };
  printHeader(env, opts.inProcess);

  const llm = await startFakeLlm({ latencyMs: 0, record: false });
  const receiver = await startReceiver();
  const results: CellResult[] = [];
  const delays: StartDelayResult[] = [];
  try {
    // Process-wide warm-up (JIT, module init), not reported.
    const w0 = performance.now();
    await runCell(
      llm,
      receiver,
      {
        backend: "sqlite",
        latencyMs: 0,
        sessions: 10,
        workers: DEFAULT_WORKERS,
        turnsPerSession: 20,
        instances: 1,
      },
      opts.inProcess,
    );
    console.error(`  warm-up: ${fmt((performance.now() - w0) / 1000, 1)} s`);

    for (const cell of cells) {
      const r = await runCell(llm, receiver, cell, opts.inProcess);
      results.push(r);
      printCellLine(r);
    }
    if (postgresUrl && opts.backends.includes("postgres") && opts.startDelayTasks > 0) {
      for (const instances of [1, 2]) {
        const d = await measureStartDelay(llm, receiver, {
          instances,
          tasks: opts.startDelayTasks,
          inProcess: opts.inProcess,
        });
        delays.push(d);
        console.error(
          `  start delay, ${instances} instance(s): p50 ${fmt(d.start.p50, 1)} ms, p99 ${fmt(d.start.p99, 1)} ms`,
        );
      }
    }
  } finally {
    await receiver.close();
    await llm.close();
  }
  printMode(results, receiver.stats, opts.inProcess);
  printTable(results, env, opts.inProcess);
  printNotes(opts.inProcess);
  printStartDelay(delays);
}
