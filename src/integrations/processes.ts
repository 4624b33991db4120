/**
 * The process supervisor: runs each integration's background process (`process.ts`,
 * DESIGN §5). A process starts when every `requiredEnv` setting is set, receives the
 * integration's settings in its environment, has each output line logged with the
 * integration's name, is restarted with exponential backoff when it exits on its own,
 * and is stopped with SIGTERM, then SIGKILL after a timeout.
 *
 * Children are spawned without a shell and not detached, so they share the server's
 * process group (a terminal's Ctrl-C reaches them too), and on the server's `exit` event
 * every child still running is sent SIGTERM. A server killed with SIGKILL cannot do that;
 * its children then get EPIPE/SIGPIPE on their next write to the closed output pipes.
 * Timers are unref'd, so the supervisor never keeps the server alive on its own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { ProcessDefinition } from "../sdk/index.ts";

/**
 * Where a process is:
 * - `stopped`: not running (never started, or stopped on request);
 * - `starting`: spawned, waiting for the OS to confirm;
 * - `running`: up, with a pid;
 * - `backoff`: exited on its own (or could not be spawned), restart due at `nextRestartAt`;
 * - `not_configured`: a `requiredEnv` setting is missing (see `missingEnv`), never spawned;
 * - `failed`: cannot be run at all (an empty command, or `spawn` threw); see `lastError`.
 */
export type ProcessState =
  | "stopped"
  | "starting"
  | "running"
  | "backoff"
  | "not_configured"
  | "failed";

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
}

/** Options of {@link ProcessSupervisor}. */
export interface SupervisorOptions {
  log: Logger;
  /** Delay before the first automatic restart, ms (default 1000). Doubles per unexpected exit. */
  initialBackoffMs?: number;
  /** Cap on the restart delay, ms (default 60000). */
  maxBackoffMs?: number;
  /** A run lasting at least this long resets the delay to `initialBackoffMs`, ms (default 30000). */
  stableAfterMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping, ms (default 10000). */
  stopTimeoutMs?: number;
  /** Random spread applied to each restart delay, as a fraction (default 0.1 = ±10%; 0 disables). */
  jitter?: number;
}

/** Lines longer than this (characters) are logged in pieces rather than buffered without limit. */
const MAX_LINE_CHARS = 16 * 1024;
/** How long to wait for the exit event after SIGKILL before giving up on a child, ms. */
const KILL_GRACE_MS = 2000;

/** One spawned child of an entry. */
interface Run {
  child: ChildProcess;
  startedMs: number;
  done: boolean;
  /** Resolves once the child has been spawned or failed to spawn. */
  spawned: Promise<void>;
  /** Resolves once the child has exited (or failed to spawn). */
  exited: Promise<void>;
  onExit(code: number | null, signal: string | null, error: Error | null): void;
}

interface Entry {
  integration: string;
  def: ProcessDefinition;
  settings: Record<string, string | undefined>;
  cwd: string;
  state: ProcessState;
  missingEnv: string[];
  /** True between a start and a stop: an exit while set is unexpected and restarts. */
  wanted: boolean;
  run: Run | null;
  restarts: number;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  nextRestartAt: number | null;
  startedAt: number | null;
  lastExitCode: number | null;
  lastExitSignal: string | null;
  lastError: string | null;
}

/** Supervises the background processes of integrations, one per integration. */
export class ProcessSupervisor {
  readonly #log: Logger;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #stableAfterMs: number;
  readonly #stopTimeoutMs: number;
  readonly #jitter: number;
  readonly #entries = new Map<string, Entry>();
  /** Per-integration operation chains (kept across replacement by add). */
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #live = new Set<ChildProcess>();
  readonly #onServerExit = (): void => {
    for (const child of this.#live) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
  };

  /** Throws RangeError when a duration is negative or not finite. */
  constructor(opts: SupervisorOptions) {
    this.#log = opts.log;
    this.#initialBackoffMs = duration("initialBackoffMs", opts.initialBackoffMs, 1000);
    this.#maxBackoffMs = Math.max(
      this.#initialBackoffMs,
      duration("maxBackoffMs", opts.maxBackoffMs, 60_000),
    );
    this.#stableAfterMs = duration("stableAfterMs", opts.stableAfterMs, 30_000);
    this.#stopTimeoutMs = duration("stopTimeoutMs", opts.stopTimeoutMs, 10_000);
    this.#jitter = Math.min(1, duration("jitter", opts.jitter, 0.1));
  }

  /**
   * Registers (or replaces) the process of `integration`. A process already registered under
   * that name is stopped first (SIGTERM, SIGKILL after `stopTimeoutMs`). The new one is
   * started when every `requiredEnv` key has a non-empty value in `settings`; otherwise its
   * state is `not_configured`. Resolves once the new child is spawned (or failed to spawn).
   * To apply changed settings, call `add` again. Never throws for a bad command: an empty
   * one gives state `failed`, a missing program (ENOENT) state `backoff` with `lastError`.
   *
   * @param settings the integration's resolved settings; defined values are added to the
   *   child's environment on top of the server's (`process.env`).
   * @param cwd the child's working directory (normally the integration's folder).
   */
  add(
    integration: string,
    def: ProcessDefinition,
    settings: Record<string, string | undefined>,
    cwd: string,
  ): Promise<void> {
    return this.#serialize(integration, async () => {
      const old = this.#entries.get(integration);
      if (old) await this.#stopEntry(old);
      const missingEnv = (def.requiredEnv ?? []).filter((k) => !settings[k]?.trim());
      const entry: Entry = {
        integration,
        def: { ...def, command: [...def.command], requiredEnv: [...(def.requiredEnv ?? [])] },
        settings: { ...settings },
        cwd,
        state: missingEnv.length > 0 ? "not_configured" : "stopped",
        missingEnv,
        wanted: false,
        run: null,
        restarts: 0,
        backoffMs: this.#initialBackoffMs,
        restartTimer: undefined,
        nextRestartAt: null,
        startedAt: null,
        lastExitCode: null,
        lastExitSignal: null,
        lastError: null,
      };
      this.#entries.set(integration, entry);
      if (missingEnv.length > 0) {
        this.#log.info(
          { integration, missingEnv },
          "integration process not started: required settings missing",
        );
        return;
      }
      await this.#startEntry(entry);
    });
  }

  /**
   * Starts the process (no-op when it is already starting or running; a pending backoff
   * restart happens at once). Resolves with its status once spawned; a spawn failure such
   * as ENOENT is reported in the status (`backoff`, `lastError`), not thrown.
   * Throws Error when `integration` has no process, or when it is not configured (the
   * message names the missing settings).
   */
  start(integration: string): Promise<ProcessStatus> {
    return this.#serialize(integration, async () => {
      const entry = this.#require(integration);
      if (entry.state === "not_configured") {
        throw new Error(
          `process of integration "${integration}" is not configured: missing ${entry.missingEnv.join(", ")}`,
        );
      }
      if (entry.run === null) {
        entry.backoffMs = this.#initialBackoffMs;
        await this.#startEntry(entry);
      }
      return this.#snapshot(entry);
    });
  }

  /**
   * Stops the process: SIGTERM, then SIGKILL after `stopTimeoutMs`; a pending restart is
   * cancelled and none follows. Resolves with the status once the child has exited (state
   * `stopped`), or at most ~2 s after the SIGKILL if it never reports its exit. A process
   * that is not running is left as it is. Throws Error when `integration` has no process.
   */
  stop(integration: string): Promise<ProcessStatus> {
    return this.#serialize(integration, async () => {
      const entry = this.#require(integration);
      await this.#stopEntry(entry);
      return this.#snapshot(entry);
    });
  }

  /**
   * Stops the process (as {@link stop}) and starts it again with a new pid; the backoff
   * delay is reset. Throws Error when `integration` has no process or is not configured.
   */
  restart(integration: string): Promise<ProcessStatus> {
    return this.#serialize(integration, async () => {
      const entry = this.#require(integration);
      if (entry.state === "not_configured") {
        throw new Error(
          `process of integration "${integration}" is not configured: missing ${entry.missingEnv.join(", ")}`,
        );
      }
      await this.#stopEntry(entry);
      entry.backoffMs = this.#initialBackoffMs;
      await this.#startEntry(entry);
      return this.#snapshot(entry);
    });
  }

  /**
   * Status of one integration's process (an empty list when it has none), or of every
   * process sorted by integration name.
   */
  status(integration?: string): ProcessStatus[] {
    if (integration !== undefined) {
      const entry = this.#entries.get(integration);
      return entry ? [this.#snapshot(entry)] : [];
    }
    return [...this.#entries.values()]
      .sort((a, b) => a.integration.localeCompare(b.integration))
      .map((e) => this.#snapshot(e));
  }

  /**
   * Stops every process at once (server shutdown): pending restarts are cancelled, each
   * child gets SIGTERM, then SIGKILL after `stopTimeoutMs`. Resolves when all have exited,
   * so within about `stopTimeoutMs` (+ ~2 s if a child ignores even SIGKILL). Never throws.
   */
  async stopAll(): Promise<void> {
    // Cancel restarts at once, without waiting for queued operations.
    for (const entry of this.#entries.values()) {
      entry.wanted = false;
      this.#cancelRestart(entry);
      if (entry.state === "backoff") entry.state = "stopped";
    }
    await Promise.all(
      [...this.#entries.keys()].map((name) =>
        this.#serialize(name, async () => {
          const entry = this.#entries.get(name);
          if (entry) await this.#stopEntry(entry);
        }).catch((err: unknown) => {
          this.#log.error({ err, integration: name }, "failed to stop integration process");
        }),
      ),
    );
  }

  // ---------------------------------------------------------------------------------

  #require(integration: string): Entry {
    const entry = this.#entries.get(integration);
    if (!entry) throw new Error(`integration "${integration}" has no process`);
    return entry;
  }

  /** Runs `fn` after every earlier operation on `integration` has settled. */
  #serialize<T>(integration: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(integration) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(integration, tail);
    void tail.then(() => {
      if (this.#queues.get(integration) === tail) this.#queues.delete(integration);
    });
    return next;
  }

  #snapshot(e: Entry): ProcessStatus {
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
    };
  }

  #cancelRestart(entry: Entry): void {
    clearTimeout(entry.restartTimer);
    entry.restartTimer = undefined;
    entry.nextRestartAt = null;
  }

  /** Spawns the child and waits until it is spawned or has failed to spawn. */
  async #startEntry(entry: Entry): Promise<void> {
    entry.wanted = true;
    this.#cancelRestart(entry);
    const run = this.#spawn(entry);
    if (run) await run.spawned;
  }

  /** Stops the child (if any) and cancels restarts; the entry ends `stopped` unless unconfigured. */
  async #stopEntry(entry: Entry): Promise<void> {
    entry.wanted = false;
    this.#cancelRestart(entry);
    const run = entry.run;
    if (run) await this.#terminate(entry, run);
    if (entry.state === "backoff" || entry.state === "starting" || entry.state === "running") {
      entry.state = "stopped";
    }
  }

  /** SIGTERM, SIGKILL after stopTimeoutMs, then waits a short grace for the exit event. */
  async #terminate(entry: Entry, run: Run): Promise<void> {
    const { integration } = entry;
    const pid = run.child.pid;
    this.#log.info({ integration, pid }, "stopping integration process (SIGTERM)");
    signal(run.child, "SIGTERM");
    let killTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      killTimer = setTimeout(() => {
        if (run.done) return resolve();
        this.#log.warn(
          { integration, pid, stopTimeoutMs: this.#stopTimeoutMs },
          "integration process ignored SIGTERM; sending SIGKILL",
        );
        signal(run.child, "SIGKILL");
        graceTimer = setTimeout(resolve, KILL_GRACE_MS);
        graceTimer.unref();
      }, this.#stopTimeoutMs);
      killTimer.unref();
    });
    await Promise.race([run.exited, killed]);
    clearTimeout(killTimer);
    clearTimeout(graceTimer);
    if (!run.done) {
      this.#log.error({ integration, pid }, "integration process did not exit after SIGKILL");
      run.onExit(null, "SIGKILL", new Error("did not exit after SIGKILL"));
    }
  }

  /** Spawns a child for `entry` (sync); returns null when spawning threw (state `failed`). */
  #spawn(entry: Entry): Run | null {
    const { integration } = entry;
    const [program, ...args] = entry.def.command;
    if (!program) {
      entry.state = "failed";
      entry.wanted = false;
      entry.lastError = "empty command";
      this.#log.error({ integration }, "integration process has an empty command");
      return null;
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    for (const [k, v] of Object.entries(entry.settings)) if (v !== undefined) env[k] = v;

    let child: ChildProcess;
    try {
      child = spawn(program, args, {
        cwd: entry.cwd,
        env,
        stdio: ["ignore", "pipe", "pipe"],
        shell: false,
        detached: false,
        windowsHide: true,
      });
    } catch (err) {
      entry.state = "failed";
      entry.wanted = false;
      entry.lastError = err instanceof Error ? err.message : String(err);
      this.#log.error({ integration, err }, "integration process could not be spawned");
      return null;
    }

    let resolveSpawned!: () => void;
    let resolveExited!: () => void;
    const run: Run = {
      child,
      startedMs: Date.now(),
      done: false,
      spawned: new Promise<void>((r) => {
        resolveSpawned = r;
      }),
      exited: new Promise<void>((r) => {
        resolveExited = r;
      }),
      onExit: (code, sig, error) => {
        if (run.done) return;
        run.done = true;
        this.#untrack(child);
        resolveSpawned();
        this.#handleExit(entry, run, code, sig, error);
        resolveExited();
      },
    };
    entry.run = run;
    entry.state = "starting";
    entry.startedAt = run.startedMs;
    this.#track(child);

    child.once("spawn", () => {
      if (entry.run === run && entry.state === "starting") entry.state = "running";
      this.#log.info(
        { integration, pid: child.pid, command: entry.def.command },
        "integration process started",
      );
      resolveSpawned();
    });
    child.on("error", (err) => {
      // Before 'spawn': the program could not be run (ENOENT, EACCES...). Later: a failed
      // kill() or similar, which does not end the process.
      if (child.pid === undefined) run.onExit(null, null, err);
      else this.#log.warn({ integration, err }, "integration process error");
    });
    child.once("exit", (code, sig) => run.onExit(code, sig, null));
    if (child.stdout) this.#pipeLines(integration, "stdout", child.stdout);
    if (child.stderr) this.#pipeLines(integration, "stderr", child.stderr);
    return run;
  }

  #handleExit(
    entry: Entry,
    run: Run,
    code: number | null,
    sig: string | null,
    error: Error | null,
  ): void {
    const { integration } = entry;
    if (entry.run !== run) return;
    entry.run = null;
    entry.lastExitCode = code;
    entry.lastExitSignal = sig;
    entry.lastError = error ? error.message : null;
    const ranMs = Date.now() - run.startedMs;
    if (!entry.wanted) {
      entry.state = "stopped";
      this.#log.info({ integration, code, signal: sig }, "integration process stopped");
      return;
    }
    if (ranMs >= this.#stableAfterMs) entry.backoffMs = this.#initialBackoffMs;
    const base = entry.backoffMs;
    entry.backoffMs = Math.min(base * 2, this.#maxBackoffMs);
    const spread = this.#jitter > 0 ? base * this.#jitter * (Math.random() * 2 - 1) : 0;
    const delayMs = Math.max(0, Math.round(base + spread));
    entry.state = "backoff";
    entry.nextRestartAt = Date.now() + delayMs;
    this.#log.warn(
      { integration, code, signal: sig, err: error ?? undefined, ranMs, delayMs },
      "integration process exited; restarting after backoff",
    );
    clearTimeout(entry.restartTimer);
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      entry.nextRestartAt = null;
      if (!entry.wanted || entry.state !== "backoff" || this.#entries.get(integration) !== entry) {
        return;
      }
      entry.restarts += 1;
      this.#log.info({ integration, restarts: entry.restarts }, "restarting integration process");
      this.#spawn(entry);
    }, delayMs);
    entry.restartTimer.unref();
  }

  /** Logs each line of `stream` as `{integration, stream}` + the line. */
  #pipeLines(integration: string, name: "stdout" | "stderr", stream: Readable): void {
    let buf = "";
    const emit = (line: string): void => {
      this.#log.info({ integration, stream: name }, line.endsWith("\r") ? line.slice(0, -1) : line);
    };
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buf += chunk;
      let nl = buf.indexOf("\n");
      while (nl !== -1) {
        emit(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
      }
      while (buf.length > MAX_LINE_CHARS) {
        emit(buf.slice(0, MAX_LINE_CHARS));
        buf = buf.slice(MAX_LINE_CHARS);
      }
    });
    stream.on("end", () => {
      if (buf.length > 0) emit(buf);
      buf = "";
    });
    stream.on("error", () => {
      // The child's exit is handled elsewhere; a broken pipe here is not news.
    });
  }

  #track(child: ChildProcess): void {
    if (this.#live.size === 0) process.on("exit", this.#onServerExit);
    this.#live.add(child);
  }

  #untrack(child: ChildProcess): void {
    if (!this.#live.delete(child)) return;
    if (this.#live.size === 0) process.off("exit", this.#onServerExit);
  }
}

/** Sends `sig` to `child`, ignoring a child that is already gone. */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    child.kill(sig);
  } catch {
    // ESRCH: already exited
  }
}

function duration(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0`);
  return v;
}
