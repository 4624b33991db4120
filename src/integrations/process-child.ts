/**
 * One run of a supervised child process: spawning it, observing its end exactly once, and
 * stopping it with SIGTERM, then SIGKILL.
 *
 * Children are spawned without a shell and not detached, so they share the server's
 * process group (a terminal's Ctrl-C reaches them too), and on the server's `exit` event
 * every child still running is sent SIGTERM. A server killed with SIGKILL cannot do that;
 * its children then get EPIPE/SIGPIPE on their next write to the closed output pipes.
 * Timers are unref'd, so a run never keeps the server alive on its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { pipeLines } from "./process-output.ts";

/**
 * The only variables of the server's own environment a child process inherits: where
 * programs are, the home folder, locale, time zone and temp folder. Everything else (API
 * keys, `SWITCHYARD_SECRET_KEY`, other integrations' settings) stays in the server.
 */
export const BASE_ENV_KEYS = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"] as const;

/**
 * A child's environment: the server's {@link BASE_ENV_KEYS} that are set, then the
 * integration's `settings` with a value (a setting wins over a base variable).
 */
export function childEnv(settings: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of BASE_ENV_KEYS) if (process.env[k] !== undefined) env[k] = process.env[k];
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) env[k] = v;
  return env;
}

/** How long to wait for the exit event after SIGKILL before giving up on a child, ms. */
export const KILL_GRACE_MS = 2000;

/** One spawned child. */
export interface ChildRun {
  child: ChildProcess;
  /** `Date.now()` when it was spawned. */
  startedMs: number;
  /** True once the run has ended (see `end`). */
  done: boolean;
  /** Resolves once the child has been spawned or failed to spawn. */
  spawned: Promise<void>;
  /** Resolves once the run has ended. */
  exited: Promise<void>;
  /**
   * Ends the run (a second call does nothing): calls `onEnd`, then resolves `exited`.
   * Called on the child's exit, on a spawn failure, and by the supervisor when it gives
   * up on a child that never reports its exit.
   */
  end(code: number | null, signal: string | null, error: Error | null): void;
}

/** What a run reports to its owner. */
export interface RunHooks {
  /** The OS confirmed the spawn (the child has a pid). */
  onSpawn(): void;
  /** The run ended: the exit code or signal, or the error (spawn failure, given up). Called once. */
  onEnd(code: number | null, signal: string | null, error: Error | null): void;
  /** An error after the spawn (a failed kill() or similar), which does not end the child. */
  onError(err: Error): void;
  /** One line of the child's output (see `pipeLines`). */
  onLine(stream: "stdout" | "stderr", line: string): void;
}

/** Children still running, across supervisors: sent SIGTERM when the server's process exits. */
const live = new Set<ChildProcess>();
const onServerExit = (): void => {
  for (const child of live) signal(child, "SIGTERM");
};

function track(child: ChildProcess): void {
  if (live.size === 0) process.on("exit", onServerExit);
  live.add(child);
}

function untrack(child: ChildProcess): void {
  if (!live.delete(child)) return;
  if (live.size === 0) process.off("exit", onServerExit);
}

/**
 * Spawns `program args` in `cwd` with exactly `env`, stdin ignored and stdout/stderr
 * piped into `hooks.onLine`. A program that cannot be run (ENOENT, EACCES…) ends the run
 * with that error, after the return.
 * @throws whatever `child_process.spawn` throws synchronously (e.g. an invalid argument)
 */
export function startRun(
  program: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  hooks: RunHooks,
): ChildRun {
  const child = spawn(program, args, {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    shell: false,
    detached: false,
    windowsHide: true,
  });

  let resolveSpawned!: () => void;
  let resolveExited!: () => void;
  const run: ChildRun = {
    child,
    startedMs: Date.now(),
    done: false,
    spawned: new Promise<void>((r) => {
      resolveSpawned = r;
    }),
    exited: new Promise<void>((r) => {
      resolveExited = r;
    }),
    end: (code, sig, error) => {
      if (run.done) return;
      run.done = true;
      untrack(child);
      resolveSpawned();
      hooks.onEnd(code, sig, error);
      resolveExited();
    },
  };
  track(child);

  child.once("spawn", () => {
    hooks.onSpawn();
    resolveSpawned();
  });
  child.on("error", (err) => {
    // Before 'spawn': the program could not be run. Later: a failed kill() or similar.
    if (child.pid === undefined) run.end(null, null, err);
    else hooks.onError(err);
  });
  child.once("exit", (code, sig) => run.end(code, sig, null));
  if (child.stdout) pipeLines(child.stdout, (line) => hooks.onLine("stdout", line));
  if (child.stderr) pipeLines(child.stderr, (line) => hooks.onLine("stderr", line));
  return run;
}

/**
 * Stops a run: SIGTERM, then SIGKILL after `stopTimeoutMs` (calling `onKill` first), then
 * waits up to {@link KILL_GRACE_MS} for the exit.
 * @returns true once the run has ended; false when the child never reported its exit
 *   (the caller then gives up on it with `run.end`).
 */
export async function terminate(
  run: ChildRun,
  stopTimeoutMs: number,
  onKill: () => void,
): Promise<boolean> {
  signal(run.child, "SIGTERM");
  let killTimer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    killTimer = setTimeout(() => {
      if (run.done) return resolve();
      onKill();
      signal(run.child, "SIGKILL");
      graceTimer = setTimeout(resolve, KILL_GRACE_MS);
      graceTimer.unref();
    }, stopTimeoutMs);
    killTimer.unref();
  });
  await Promise.race([run.exited, killed]);
  clearTimeout(killTimer);
  clearTimeout(graceTimer);
  return run.done;
}

/** Sends `sig` to `child`, ignoring a child that is already gone. */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    child.kill(sig);
  } catch {
    // ESRCH: already exited
  }
}
