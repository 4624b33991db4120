/**
 * The process supervisor: runs each integration's background process (`process.ts`,
 * DESIGN §5). A process starts when every `requiredEnv` setting is set, receives the
 * integration's settings in its environment, has each output line logged with the
 * integration's name, is restarted with exponential backoff when it exits on its own,
 * and is stopped with SIGTERM, then SIGKILL after a timeout.
 *
 * This module holds the lifecycle (start, stop, restart, one operation at a time per
 * integration); the restart delays are `./process-restart.ts`, spawning and killing one
 * child `./process-child.ts`, output lines `./process-output.ts`, the entry and its status
 * snapshot `./process-status.ts`.
 * Timers are unref'd, so the supervisor never keeps the server alive on its own.
 *
 * A `singleton: true` process runs only while this instance holds the lease
 * `<integration>/process` (through the lease service, `leases/exclusive.ts`): between a
 * start and a stop the supervisor waits for the lease (state `standby`), starts the child
 * when it gets it, stops the child when it loses it, and gives it back on stop.
 */
import type { Logger } from "pino";
import type { LeaseService } from "../leases/exclusive.ts";
import type { ProcessDefinition } from "../sdk/index.ts";
import { type ChildRun, childEnv, startRun, terminate } from "./process-child.ts";
import {
  armRestart,
  cancelRestart,
  duration,
  RestartPolicy,
  type RestartPolicyOptions,
} from "./process-restart.ts";
import {
  keepLine,
  newEntry,
  type OutputLine,
  type ProcessEntry,
  type ProcessStatus,
  snapshot,
} from "./process-status.ts";

export { BASE_ENV_KEYS } from "./process-child.ts";
export type { OutputLine, ProcessState, ProcessStatus } from "./process-status.ts";

/** Options of {@link ProcessSupervisor}: the restart policy's, and the rest. */
export interface SupervisorOptions extends RestartPolicyOptions {
  log: Logger;
  /** Time between SIGTERM and SIGKILL when stopping, ms (default 10000). */
  stopTimeoutMs?: number;
  /**
   * Runs singleton processes under their lease. Without it a `singleton: true` process
   * runs as any other (one server, nothing to share).
   */
  leases?: Pick<LeaseService, "run">;
}

/** Supervises the background processes of integrations, one per integration. */
export class ProcessSupervisor {
  readonly #log: Logger;
  readonly #restarts: RestartPolicy;
  readonly #stopTimeoutMs: number;
  readonly #leases: Pick<LeaseService, "run"> | undefined;
  readonly #entries = new Map<string, ProcessEntry>();
  /** Per-integration operation chains (kept across replacement by add). */
  readonly #queues = new Map<string, Promise<unknown>>();

  /** Throws RangeError when a duration is negative or not finite. */
  constructor(opts: SupervisorOptions) {
    this.#log = opts.log;
    this.#restarts = new RestartPolicy(opts);
    this.#stopTimeoutMs = duration("stopTimeoutMs", opts.stopTimeoutMs, 10_000);
    this.#leases = opts.leases;
  }

  /**
   * Registers (or replaces) the process of `integration`. A process already registered under
   * that name is stopped first (SIGTERM, SIGKILL after `stopTimeoutMs`). The new one is
   * started when every `requiredEnv` key has a non-empty value in `settings`; otherwise its
   * state is `not_configured`. Resolves once the new child is spawned (or failed to spawn).
   * To apply changed settings, call `add` again. Never throws for a bad command: an empty
   * one gives state `failed`, a missing program (ENOENT) state `backoff` with `lastError`.
   *
   * @param settings the integration's resolved settings (its declared variables); the
   *   child's environment is exactly these (defined values) on top of a minimal base from
   *   the server's ({@link BASE_ENV_KEYS}), so no other secret of the server reaches it.
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
      const entry = newEntry(integration, def, settings, cwd, this.#restarts.initialMs);
      this.#entries.set(integration, entry);
      if (entry.state === "not_configured") {
        this.#log.info(
          { integration, missingEnv: entry.missingEnv },
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
        entry.backoffMs = this.#restarts.initialMs;
        await this.#startEntry(entry);
      }
      return snapshot(entry);
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
      return snapshot(entry);
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
      entry.backoffMs = this.#restarts.initialMs;
      await this.#startEntry(entry);
      return snapshot(entry);
    });
  }

  /**
   * The recent output lines of an integration's process on this instance (the newest 200,
   * oldest first, kept across restarts), or undefined when it has no process.
   */
  output(integration: string): OutputLine[] | undefined {
    return this.#entries.get(integration)?.output.slice();
  }

  /**
   * Status of one integration's process (an empty list when it has none), or of every
   * process sorted by integration name.
   */
  status(integration?: string): ProcessStatus[] {
    if (integration !== undefined) {
      const entry = this.#entries.get(integration);
      return entry ? [snapshot(entry)] : [];
    }
    return [...this.#entries.values()]
      .sort((a, b) => a.integration.localeCompare(b.integration))
      .map((e) => snapshot(e));
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
      cancelRestart(entry);
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

  #require(integration: string): ProcessEntry {
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

  /**
   * Spawns the child and waits until it is spawned or has failed to spawn; a singleton
   * instead starts waiting for its lease (state `standby`) and returns at once.
   */
  async #startEntry(entry: ProcessEntry): Promise<void> {
    if (entry.def.singleton && this.#leases) {
      if (!entry.lease) this.#holdLease(entry, this.#leases);
      return;
    }
    await this.#spawnWanted(entry);
  }

  /** Marks the child wanted and spawns it; resolves once spawned or failed to spawn. */
  async #spawnWanted(entry: ProcessEntry): Promise<void> {
    entry.wanted = true;
    cancelRestart(entry);
    const run = this.#spawn(entry);
    if (run) await run.spawned;
  }

  /** Stops the child (if any) and cancels restarts; the entry ends `stopped` unless unconfigured. */
  async #stopEntry(entry: ProcessEntry): Promise<void> {
    const lease = entry.lease;
    if (lease) {
      // Stops the child (the lease run ends) and releases the lease.
      entry.lease = undefined;
      lease.ac.abort();
      await lease.done;
    }
    entry.wanted = false;
    cancelRestart(entry);
    const run = entry.run;
    if (run) await this.#terminate(entry, run);
    if (
      entry.state === "backoff" ||
      entry.state === "starting" ||
      entry.state === "running" ||
      entry.state === "standby"
    ) {
      entry.state = "stopped";
    }
  }

  /**
   * Starts the lease loop of a singleton: while this instance holds `<integration>/process`
   * the child runs (restarted with backoff as usual); when the lease is lost, or the loop
   * is stopped, the child is stopped and the entry goes back to `standby`.
   */
  #holdLease(entry: ProcessEntry, leases: Pick<LeaseService, "run">): void {
    const { integration } = entry;
    const ac = new AbortController();
    entry.state = "standby";
    const whileHeld = async (signal: AbortSignal) => {
      if (signal.aborted || entry.lease?.ac !== ac) return;
      this.#log.info({ integration }, "singleton process lease taken; starting it");
      await this.#spawnWanted(entry);
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      entry.wanted = false;
      cancelRestart(entry);
      const run = entry.run;
      if (run) await this.#terminate(entry, run);
      if (entry.lease?.ac === ac && entry.state !== "failed") entry.state = "standby";
    };
    const done = leases
      .run(`${integration}/process`, whileHeld, { signal: ac.signal })
      .catch((err: unknown) => {
        this.#log.error({ integration, err }, "singleton process lease loop failed");
      });
    entry.lease = { ac, done };
  }

  /** SIGTERM, SIGKILL after stopTimeoutMs, then a short grace for the exit; logs each step. */
  async #terminate(entry: ProcessEntry, run: ChildRun): Promise<void> {
    const { integration } = entry;
    const pid = run.child.pid;
    this.#log.info({ integration, pid }, "stopping integration process (SIGTERM)");
    const ended = await terminate(run, this.#stopTimeoutMs, () =>
      this.#log.warn(
        { integration, pid, stopTimeoutMs: this.#stopTimeoutMs },
        "integration process ignored SIGTERM; sending SIGKILL",
      ),
    );
    if (!ended) {
      this.#log.error({ integration, pid }, "integration process did not exit after SIGKILL");
      run.end(null, "SIGKILL", new Error("did not exit after SIGKILL"));
    }
  }

  /** Spawns a child for `entry` (sync); returns null when spawning threw (state `failed`). */
  #spawn(entry: ProcessEntry): ChildRun | null {
    const { integration } = entry;
    const [program, ...args] = entry.def.command;
    if (!program) {
      entry.state = "failed";
      entry.wanted = false;
      entry.lastError = "empty command";
      this.#log.error({ integration }, "integration process has an empty command");
      return null;
    }
    let run: ChildRun;
    try {
      run = startRun(program, args, entry.cwd, childEnv(entry.settings), {
        onSpawn: () => {
          if (entry.run === run && entry.state === "starting") entry.state = "running";
          this.#log.info(
            { integration, pid: run.child.pid, command: entry.def.command },
            "integration process started",
          );
        },
        onEnd: (code, sig, error) => this.#handleExit(entry, run, code, sig, error),
        onError: (err) => this.#log.warn({ integration, err }, "integration process error"),
        onLine: (stream, line) => {
          keepLine(entry, stream, line);
          this.#log.info({ integration, stream }, line);
        },
      });
    } catch (err) {
      entry.state = "failed";
      entry.wanted = false;
      entry.lastError = err instanceof Error ? err.message : String(err);
      this.#log.error({ integration, err }, "integration process could not be spawned");
      return null;
    }
    entry.run = run;
    entry.state = "starting";
    entry.startedAt = run.startedMs;
    return run;
  }

  #handleExit(
    entry: ProcessEntry,
    run: ChildRun,
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
    const { delayMs, backoffMs } = this.#restarts.next(entry.backoffMs, ranMs);
    entry.backoffMs = backoffMs;
    entry.state = "backoff";
    this.#log.warn(
      { integration, code, signal: sig, err: error ?? undefined, ranMs, delayMs },
      "integration process exited; restarting after backoff",
    );
    armRestart(entry, delayMs, () => {
      if (!entry.wanted || entry.state !== "backoff" || this.#entries.get(integration) !== entry) {
        return;
      }
      entry.restarts += 1;
      this.#log.info({ integration, restarts: entry.restarts }, "restarting integration process");
      this.#spawn(entry);
    });
  }
}
