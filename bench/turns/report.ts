/**
 * The turns benchmark's output: the setup, a line per cell as it finishes (stderr), the
 * table of cells and the notes that explain it.
 */
import { cpus } from "node:os";
import { postgresUrl } from "../../test/support/db.ts";
import type { Receiver } from "../support/receiver.ts";
import { CELL_TIMEOUT_MS, type CellResult, INJECTORS } from "./cell.ts";
import type { StartDelayResult } from "./start-delay.ts";

/** Where the bench runs. */
export interface BenchEnv {
  node: string;
  cpus: number;
}

/** Prints the machine, the process layout and the databases. */
export function printHeader(env: BenchEnv, inProcess: boolean): void {
  const cpuModel = cpus()[0]?.model.trim() ?? "unknown CPU";
  const mode = inProcess
    ? "server, fake LLM, receiver and load generator in one process (--in-process)"
    : "server in its own process (`node src/main.ts serve`, a fresh one per cell, pid in each cell line); " +
      `fake LLM, receiver and load generator in the bench process (pid ${process.pid})`;
  console.log(
    `turns: node ${env.node} (${process.platform} ${process.arch}), ${env.cpus} CPUs (${cpuModel}); ` +
      `${mode}; ${INJECTORS} inject clients; delivery worker concurrency 16 (built-in default)`,
  );
  console.log(
    "  sqlite = node:sqlite file in a temp dir (WAL, synchronous=NORMAL)" +
      (postgresUrl ? "; postgres = fresh database on SWITCHYARD_TEST_POSTGRES_URL" : ""),
  );
}

/** Prints one finished cell on stderr. */
export function printCellLine(r: CellResult): void {
  const { cell } = r;
  console.error(
    `  ${cell.backend}${cell.instances > 1 ? ` × ${cell.instances} instances` : ""} ${cell.latencyMs} ms × ${cell.sessions} sessions (workers ${cell.workers}): ` +
      `${r.delivered}/${r.turns} turns, ${fmt(r.turnsPerSec, 1)} turns/s, ` +
      `e2e p50 ${fmt(r.e2e.p50)} ms, turn p50 ${fmt(r.turn.p50, 1)} ms` +
      (r.pids.length === 0 ? "" : ` (server pid ${r.pids.join(", ")})`) +
      (r.errors ? `, ${r.errors} inject errors` : "") +
      (r.complete ? "" : `, INCOMPLETE after ${CELL_TIMEOUT_MS / 1000} s`),
  );
}

/** Prints the receiver's anomalies, if any, and which processes ran what. */
export function printMode(
  results: CellResult[],
  receiverStats: Receiver["stats"],
  inProcess: boolean,
): void {
  if (receiverStats.duplicates || receiverStats.malformed) {
    console.log(
      `  receiver: ${receiverStats.duplicates} duplicate and ${receiverStats.malformed} malformed deliveries`,
    );
  }
  console.log("");
  if (inProcess) {
    console.log(
      "mode: server, fake LLM, receiver and load generator in one process (--in-process)",
    );
  } else {
    const pids = results.map((r) => r.pids.join("+")).join(", ");
    console.log(
      `mode: server in its own process (pid ${pids}: one per cell); ` +
        `fake LLM, receiver and load generator in the bench process (pid ${process.pid})`,
    );
  }
}

/** `n` with `digits` decimals, "-" when it is not a finite number. */
export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

/** Prints one line per cell under a header, columns aligned. */
export function printTable(results: CellResult[], env: BenchEnv, inProcess: boolean): void {
  const head = [
    "node",
    "cpus",
    "db",
    "inst",
    "llm ms",
    "sessions",
    "workers",
    "turns",
    "turns/s",
    "e2e p50",
    "e2e p99",
    "turn p50",
    "turn p99",
    "inject/s",
    "cpu/turn",
    ...(inProcess ? [] : ["bench cpu/turn"]),
    "wall s",
  ];
  const rows = results.map((r) => [
    env.node,
    String(env.cpus),
    r.cell.backend,
    String(r.cell.instances),
    String(r.cell.latencyMs),
    String(r.cell.sessions),
    String(r.cell.workers),
    r.delivered === r.turns ? String(r.turns) : `${r.delivered}/${r.turns}`,
    fmt(r.turnsPerSec, 1),
    fmt(r.e2e.p50),
    fmt(r.e2e.p99),
    fmt(r.turn.p50, 1),
    fmt(r.turn.p99, 1),
    fmt(r.injectPerSec),
    fmt(r.cpuPerTurnMs, 2),
    ...(inProcess ? [] : [fmt(r.benchCpuPerTurnMs, 2)]),
    fmt(r.wallSec, 1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cols: string[]) =>
    cols.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
}

/** Prints what the columns mean. */
export function printNotes(inProcess: boolean): void {
  console.log(
    "\n  turns/s = deliveries / (last delivery − first inject); latencies in ms; " +
      "e2e = inject sent → webhook received;\n  turn = webhook received − max(inject sent, " +
      "previous delivery of that session) (the session's own backlog removed);\n" +
      (inProcess
        ? "  cpu/turn = CPU ms (user+system, whole process: server, fake LLM, receiver, clients) per turn;"
        : "  cpu/turn = CPU ms (user+system, all threads) of the server process per turn (/proc/<pid>/stat);\n" +
          "  bench cpu/turn = CPU ms of the bench process (fake LLM, receiver, clients) per turn;") +
      "\n  inst = servers on the one database (2: PostgreSQL, injects alternating between them, each with `workers`);" +
      "\n  wall s = whole cell incl. server start-up, warm-up and stop",
  );
}

/**
 * Prints the start-of-task delay with one instance and across two, side by side, and the
 * issue's goal (p50 under 10 ms across instances).
 */
export function printStartDelay(results: StartDelayResult[]): void {
  if (results.length === 0) return;
  console.log(
    `\nstart-of-task delay on postgres (inject sent → task started_at; tasks one at a time on idle servers, ${results[0]!.tasks} measured)`,
  );
  const head = [
    "instances",
    "start p50",
    "start p99",
    "queued→start p50",
    "queued→start p99",
    "accept p50",
    "accept p99",
  ];
  const label = (n: number) => (n > 1 ? `${n} (inject on A, run on B)` : "1 (inject and run on A)");
  const rows = results.map((r) => [
    label(r.instances),
    fmt(r.start.p50, 1),
    fmt(r.start.p99, 1),
    fmt(r.queued.p50, 1),
    fmt(r.queued.p99, 1),
    fmt(r.accept.p50, 1),
    fmt(r.accept.p99, 1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cols: string[]) =>
    cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
  const two = results.find((r) => r.instances > 1);
  if (two) {
    console.log(
      `  goal: across instances p50 under 10 ms — start ${two.start.p50 < 10 ? "met" : "NOT met"} (${fmt(two.start.p50, 1)} ms), ` +
        `queued→start ${two.queued.p50 < 10 ? "met" : "NOT met"} (${fmt(two.queued.p50, 1)} ms)\n` +
        "  start = inject sent → task started_at; queued→start = task created_at (written in A's inject transaction) → started_at;\n" +
        "  accept = inject sent → 201 received (part of start); server times have 1 ms resolution",
    );
  }
}
