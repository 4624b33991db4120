/**
 * The task worker: claims runnable tasks with a lease, runs up to `concurrency` at once
 * (never two of one session: the claim enforces it), renews its leases, enforces each
 * task's time limit and honours cancels. A task whose worker died comes back when its
 * lease expires; after `max_attempts` claims it fails with an error that says so.
 */
import type { Logger } from "pino";
import { withDefaults } from "../lib/defaults.ts";
import { WakeLoop } from "../lib/wake-loop.ts";
import type { Store } from "../store/index.ts";
import type { Task } from "../store/tasks.ts";
import { inTaskSpan } from "../telemetry/work.ts";
import type { TaskFinisher } from "./finish.ts";

/** What running a task produced. */
export interface TaskOutput {
  text: string;
  model?: string;
  notes?: string[];
  /** The task was parked (waiting for an approval): it is not finished. */
  parked?: boolean;
}

/** Settings of a {@link TaskWorker}. Times in ms unless named otherwise. */
export interface TaskWorkerOptions {
  store: Store;
  finisher: TaskFinisher;
  log: Logger;
  /** This process's lease owner id. */
  owner: string;
  concurrency: number;
  /** Lease length; renewed every third of it. Default 30 000. */
  leaseMs?: number;
  /** Fallback poll (other instances' work, expired leases). Default 1000. */
  pollMs?: number;
  /** Time limit for tasks without their own `max_run_seconds` (s). */
  defaultMaxRunSeconds: number;
  /** Runs one task; rejects to fail it. Must stop when `signal` aborts. */
  execute(task: Task, signal: AbortSignal): Promise<TaskOutput>;
  /**
   * Tells other instances (the wake-up bus) that runnable work is committed that this
   * worker will not take at once: called by {@link TaskWorker.poke} and
   * {@link TaskWorker.taskCreated} when it has no free slot (or is stopped, or runs none:
   * concurrency 0), and after a claim that filled every free slot (more may be waiting).
   * Work this worker claims itself is not told: every other instance would only run a
   * claim that finds nothing. Must not throw. Not called by {@link TaskWorker.wake}.
   */
  onPoke?: () => void;
}

class TimeoutReason extends Error {}
class CancelReason extends Error {}
class ShutdownReason extends Error {}
class LeaseLostReason extends Error {}

/** Largest timer delay Node honours (ms); longer limits are capped to it. */
const MAX_TIMER_MS = 2_147_483_647;

interface RunningTask {
  controller: AbortController;
  done: Promise<void>;
  sessionId: string;
  /** This claim's lease token (`<owner>#<n>`): a re-claim of the same task gets a new one. */
  token: string;
}

/** Claims and runs tasks. */
export class TaskWorker {
  readonly #o: Required<Omit<TaskWorkerOptions, "execute" | "onPoke">> &
    Pick<TaskWorkerOptions, "execute" | "onPoke">;
  readonly #running = new Map<string, RunningTask>();
  readonly #loop: WakeLoop;
  #renewTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #lastReap = 0;
  #claims = 0;

  constructor(opts: TaskWorkerOptions) {
    this.#o = withDefaults({ leaseMs: 30_000, pollMs: 1000 }, opts);
    this.#loop = new WakeLoop(() => this.#pass(), {
      pollMs: this.#o.pollMs,
      log: opts.log,
      name: "tasks",
    });
  }

  /** Starts claiming. */
  start(): void {
    this.#stopping = false;
    this.#loop.start();
    this.#renewTimer = setInterval(
      () => {
        this.#renew().catch((err) => this.#o.log.error({ err }, "lease renewal failed"));
      },
      Math.max(50, Math.floor(this.#o.leaseMs / 3)),
    );
    this.#renewTimer.unref();
  }

  /**
   * Looks for work now (call after a task became runnable); tells other instances when
   * this worker has no room for it (see {@link TaskWorkerOptions.onPoke}).
   */
  poke(): void {
    this.#loop.poke();
    if (!this.#hasRoom()) this.#o.onPoke?.();
  }

  /** Looks for work now, on this instance only (another instance told of it). */
  wake(): void {
    this.#loop.poke();
  }

  /**
   * Says a task of `sessionId` was created (committed). Looks for work at once unless it
   * cannot run yet anyway (this worker runs that session's current task: it looks again
   * when that task ends). With no free slot here, other instances are told instead. Saves
   * a claim query per message of a burst, and a wasted one on every other instance.
   */
  taskCreated(sessionId: string): void {
    if (!this.#hasRoom()) {
      this.#o.onPoke?.();
      return;
    }
    for (const r of this.#running.values()) if (r.sessionId === sessionId) return;
    this.#loop.poke();
  }

  /** Whether this worker is claiming and has a free slot. */
  #hasRoom(): boolean {
    return this.#loop.active && !this.#stopping && this.#running.size < this.#o.concurrency;
  }

  /** How many tasks this worker is running. */
  get activeCount(): number {
    return this.#running.size;
  }

  /** Aborts a task this process is running (after its status was set to cancelled). */
  abortLocal(taskId: string): boolean {
    const r = this.#running.get(taskId);
    if (!r) return false;
    r.controller.abort(new CancelReason("Task cancelled"));
    return true;
  }

  /**
   * Stops claiming, waits up to `graceMs` for running tasks, then aborts the rest and
   * releases their leases so another worker (or the next start) runs them at once. A run
   * that ignores its abort signal is left behind: its outcome can no longer be written.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    await this.#loop.stop();
    const all = () => Promise.all([...this.#running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"timeout">((res) => {
      timer = setTimeout(() => res("timeout"), graceMs);
    });
    const outcome = await Promise.race([all().then(() => "done" as const), graceOver]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      for (const r of this.#running.values()) {
        r.controller.abort(new ShutdownReason("shutting down"));
      }
      await all();
    }
    clearInterval(this.#renewTimer);
  }

  /** Renews this worker's leases; a run whose lease is gone (cancelled, taken over) is aborted. */
  async #renew(): Promise<void> {
    const entries = [...this.#running.entries()];
    if (entries.length === 0) return;
    const renewed = new Set(
      await this.#o.store.taskLeases.renewLeases(
        entries.map(([, r]) => r.token),
        this.#o.leaseMs,
      ),
    );
    // By task id: one claim's tasks share its token, so a token still renewed for one of
    // them says nothing about a task of the same claim that was cancelled meanwhile.
    for (const [id, r] of entries) {
      if (!renewed.has(id) && this.#running.get(id) === r) {
        r.controller.abort(new LeaseLostReason("lease lost"));
      }
    }
  }

  async #pass(): Promise<boolean | undefined> {
    if (this.#stopping) return undefined;
    const { store, finisher, log } = this.#o;
    let again = false;
    // The claim first: a wake-up's task is started before any housekeeping below.
    const free = this.#o.concurrency - this.#running.size;
    if (free > 0) {
      const token = `${this.#o.owner}#${++this.#claims}`;
      const tasks = await store.taskLeases.claim(token, free, this.#o.leaseMs);
      for (const t of tasks) this.#start(t, token);
      // A full batch means there may be more runnable work than this worker has room for:
      // look again, and let other instances look too.
      if (tasks.length === free) {
        again = true;
        this.#o.onPoke?.();
      }
    }
    // Leases expire on a scale of seconds: look for them on the poll's rhythm, not on every poke.
    const now = Date.now();
    if (now - this.#lastReap >= Math.min(this.#o.pollMs, this.#o.leaseMs / 2)) {
      this.#lastReap = now;
      const reaped = await store.taskLeases.reapExpired();
      for (const t of reaped.exhausted) {
        const msg = `Task failed after ${t.attempts} attempts: its worker stopped renewing the lease (crash or restart)`;
        if (await finisher.fail(t, msg, { from: ["running"] })) log.warn({ task_id: t.id }, msg);
      }
      // Tasks back to pending: claim them now, or tell the instances that can.
      if (reaped.requeued > 0) {
        if (this.#running.size < this.#o.concurrency) again = true;
        else this.#o.onPoke?.();
      }
    }
    return again || undefined;
  }

  #start(task: Task, token: string): void {
    // The same task claimed again (its lease had expired): the old run lost it.
    this.#running.get(task.id)?.controller.abort(new LeaseLostReason("lease lost"));
    const controller = new AbortController();
    const seconds = task.maxRunSeconds ?? this.#o.defaultMaxRunSeconds;
    const timer = setTimeout(
      () => controller.abort(new TimeoutReason(`Timed out after ${seconds}s`)),
      Math.min(seconds * 1000, MAX_TIMER_MS),
    );
    const entry: RunningTask = {
      controller,
      done: Promise.resolve(),
      sessionId: task.sessionId,
      token,
    };
    // The run and its finishing transaction in the task's span (a child of its creator's).
    entry.done = inTaskSpan(task, () => this.#run(task, controller, token)).finally(() => {
      clearTimeout(timer);
      if (this.#running.get(task.id) === entry) this.#running.delete(task.id);
      this.#loop.poke();
    });
    this.#running.set(task.id, entry);
  }

  async #run(task: Task, controller: AbortController, token: string): Promise<void> {
    const { finisher, log, store } = this.#o;
    const signal = controller.signal;
    try {
      let out: TaskOutput;
      try {
        // The outcome is decided when the signal fires, even if `execute` ignores it.
        out = await Promise.race([this.#o.execute(task, signal), rejectOnAbort(signal)]);
        signal.throwIfAborted();
      } catch (err) {
        const reason = signal.aborted ? signal.reason : undefined;
        if (reason instanceof CancelReason || reason instanceof LeaseLostReason) return;
        if (reason instanceof ShutdownReason) {
          await store.taskLeases.release(task.id, token);
          return;
        }
        const message = reason instanceof TimeoutReason ? reason.message : errorText(err);
        await finisher.fail(task, message, { from: ["running"], owner: token });
        return;
      }
      if (out.parked) return;
      await finisher.complete(task, out.text, token, { model: out.model, notes: out.notes });
    } catch (err) {
      // The store failed while finishing; the lease will expire and the task run again.
      log.error({ err, task_id: task.id }, "could not record task outcome");
    }
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

function errorText(err: unknown): string {
  const m = (err as Error)?.message ?? String(err);
  return m.length > 2000 ? `${m.slice(0, 2000)}…` : m;
}
