/**
 * What the process supervisor knows about one integration's process (its entry), and the
 * snapshot of it that the admin API shows.
 */
import type { ProcessDefinition } from "../sdk/index.ts";
import type { ChildRun } from "./process-child.ts";

/**
 * Where a process is:
 * - `stopped`: not running (never started, or stopped on request);
 * - `starting`: spawned, waiting for the OS to confirm;
 * - `running`: up, with a pid;
 * - `backoff`: exited on its own (or could not be spawned), restart due at `nextRestartAt`;
 * - `not_configured`: a `requiredEnv` setting is missing (see `missingEnv`), never spawned;
 * - `failed`: cannot be run at all (an empty command, or `spawn` threw); see `lastError`;
 * - `standby`: a singleton waiting for its lease (another instance runs it).
 */
export type ProcessState =
  | "stopped"
  | "starting"
  | "running"
  | "backoff"
  | "not_configured"
  | "failed"
  | "standby";

/** A snapshot of one integration's process, as the admin API shows it. */
export interface ProcessStatus {
  integration: string;
  description: string;
  /** argv as defined in `process.ts` (no settings values). */
  command: string[];
  state: ProcessState;
  /** OS process id while a child exists, else null. */
  pid: number | null;
  /** Automatic restarts after unexpected exits since the process was added (manual restarts don't count). */
  restarts: number;
  /** Exit code of the last run; null if it has not exited, was killed by a signal, or never spawned. */
  lastExitCode: number | null;
  /** Signal that ended the last run (e.g. "SIGTERM"), else null. */
  lastExitSignal: string | null;
  /** Why the last run could not start or ended abnormally (e.g. "spawn foo ENOENT"), else null. */
  lastError: string | null;
  /** When the current (or last) run was spawned, ISO 8601; null if never. */
  startedAt: string | null;
  /** `requiredEnv` keys without a non-empty value; non-empty means state `not_configured`. */
  missingEnv: string[];
  /** When the next automatic restart is due (ISO 8601) in state `backoff`, else null. */
  nextRestartAt: string | null;
  /** Runs only on the instance holding the lease `<integration>/process`. */
  singleton: boolean;
}

/** One line a process wrote, as kept for the admin API. */
export interface OutputLine {
  /** ISO 8601. */
  at: string;
  stream: "stdout" | "stderr";
  /** At most {@link OUTPUT_LINE_CHARS} characters. */
  line: string;
}

/** Lines kept per integration (the newest, across restarts). */
export const OUTPUT_LINES_KEPT = 200;
/** Characters kept of one line. */
export const OUTPUT_LINE_CHARS = 2000;

/** Adds a line to `e`'s recent output, dropping the oldest past {@link OUTPUT_LINES_KEPT}. */
export function keepLine(e: ProcessEntry, stream: "stdout" | "stderr", line: string): void {
  e.output.push({ at: new Date().toISOString(), stream, line: line.slice(0, OUTPUT_LINE_CHARS) });
  if (e.output.length > OUTPUT_LINES_KEPT) e.output.splice(0, e.output.length - OUTPUT_LINES_KEPT);
}

/** The supervisor's record of one integration's process (times are `Date.now()` ms). */
export interface ProcessEntry {
  /** Its recent output lines, oldest first (see {@link keepLine}). */
  output: OutputLine[];
  integration: string;
  def: ProcessDefinition;
  settings: Record<string, string | undefined>;
  cwd: string;
  state: ProcessState;
  missingEnv: string[];
  /** True between a start and a stop: an exit while set is unexpected and restarts. */
  wanted: boolean;
  run: ChildRun | null;
  restarts: number;
  /** The delay before the next automatic restart, ms. */
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  nextRestartAt: number | null;
  startedAt: number | null;
  lastExitCode: number | null;
  lastExitSignal: string | null;
  lastError: string | null;
  /** A singleton's lease loop while one is wanted: abort `ac` and await `done` to stop it. */
  lease: { ac: AbortController; done: Promise<void> } | undefined;
}

/**
 * A fresh entry for `def` (copied, so later changes to the caller's objects do not leak
 * in): `not_configured` when a `requiredEnv` key has no non-empty value in `settings`,
 * else `stopped`.
 */
export function newEntry(
  integration: string,
  def: ProcessDefinition,
  settings: Record<string, string | undefined>,
  cwd: string,
  backoffMs: number,
): ProcessEntry {
  const missingEnv = (def.requiredEnv ?? []).filter((k) => !settings[k]?.trim());
  return {
    integration,
    def: {
      ...def,
      command: [...def.command],
      requiredEnv: [...(def.requiredEnv ?? [])],
      singleton: def.singleton === true,
    },
    settings: { ...settings },
    cwd,
    state: missingEnv.length > 0 ? "not_configured" : "stopped",
    missingEnv,
    wanted: false,
    run: null,
    restarts: 0,
    backoffMs,
    restartTimer: undefined,
    nextRestartAt: null,
    startedAt: null,
    lastExitCode: null,
    lastExitSignal: null,
    lastError: null,
    lease: undefined,
    output: [],
  };
}

/** The public snapshot of `e` (copies; ISO 8601 times). */
export function snapshot(e: ProcessEntry): ProcessStatus {
  return {
    integration: e.integration,
    description: e.def.description,
    command: [...e.def.command],
    state: e.state,
    pid: e.run?.child.pid ?? null,
    restarts: e.restarts,
    lastExitCode: e.lastExitCode,
    lastExitSignal: e.lastExitSignal,
    lastError: e.lastError,
    startedAt: e.startedAt === null ? null : new Date(e.startedAt).toISOString(),
    missingEnv: [...e.missingEnv],
    nextRestartAt:
      e.state === "backoff" && e.nextRestartAt !== null
        ? new Date(e.nextRestartAt).toISOString()
        : null,
    singleton: e.def.singleton === true,
  };
}
