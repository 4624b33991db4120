/**
 * Run something on at most one instance at a time (`ctx.exclusive`; singleton work across
 * several servers sharing one database). {@link LeaseService.run} takes the named lease
 * (`store/leases.ts`), runs `run(signal)` while it holds it, renews it every ttl/3, and
 * aborts that signal when a renewal fails, finds the lease taken, or has not succeeded for
 * a whole ttl (a hung database). Not holding it, it tries again every ttl/2 until the
 * caller's signal aborts. When `run` settles it waits for a renewal in flight, then
 * releases the lease, so another instance takes over at its next try rather than after
 * expiry. A holder that dies stops renewing; the lease is free again ttl after its last
 * renewal. Instances' clocks are assumed to agree within a small part of the ttl.
 * {@link LeaseService.stop} (server shutdown) aborts every run and waits for the releases,
 * so other instances take the work over at once.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { LeaseRepository } from "../store/leases.ts";

/** Default lease length, ms. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** What happened to a lease, for logs and tests. */
export type LeaseEvent = {
  type: "acquired" | "busy" | "renewed" | "lost" | "released";
  name: string;
  holder: string;
};

/** What the service is built from. */
export interface LeaseServiceOptions {
  leases: Pick<LeaseRepository, "acquire" | "release">;
  /** This instance's id; each run's holder id is `<owner>/<random>`. */
  owner: string;
  /** Lease length when a run does not say, ms (default 30 000). */
  ttlMs?: number;
  log?: Pick<Logger, "warn" | "info" | "debug">;
  /** Told of every lease event (tests wait on these). */
  onEvent?: (e: LeaseEvent) => void;
}

/** Options of one {@link LeaseService.run}. */
export interface RunExclusiveOptions {
  /** The caller's: aborting it stops trying, aborts `run`'s signal and releases the lease. */
  signal: AbortSignal;
  /** Lease length, ms (default the service's). Renewed every ttl/3, retried every ttl/2. */
  ttlMs?: number;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Runs work under named leases. */
export class LeaseService {
  readonly #o: LeaseServiceOptions;
  /** Aborted by {@link stop}: every run's signal follows it. */
  readonly #stop = new AbortController();
  /** Runs in progress (settle after their release). */
  readonly #runs = new Set<Promise<void>>();

  constructor(opts: LeaseServiceOptions) {
    this.#o = opts;
  }

  /** The default lease length, ms. */
  get ttlMs(): number {
    return this.#o.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  }

  #emit(type: LeaseEvent["type"], name: string, holder: string): void {
    this.#o.onEvent?.({ type, name, holder });
  }

  /**
   * Runs `run(signal)` while holding lease `name`, on at most one holder at a time across
   * every instance sharing the database. Resolves when `run` resolved while the lease was
   * held, or once `opts.signal` aborted (after `run` settled and the lease was released).
   * When the lease is lost under it, `run`'s signal aborts; once `run` settles the service
   * goes back to waiting for the lease.
   * @throws what `run` threw while it held the lease (the lease is released first)
   */
  async run(
    name: string,
    run: (signal: AbortSignal) => Promise<void>,
    opts: RunExclusiveOptions,
  ): Promise<void> {
    const signal = AbortSignal.any([opts.signal, this.#stop.signal]);
    const p = this.#run(name, run, opts.ttlMs, signal);
    const tracked = p.then(
      () => undefined,
      () => undefined,
    );
    this.#runs.add(tracked);
    void tracked.then(() => this.#runs.delete(tracked));
    return p;
  }

  /**
   * Server shutdown: aborts every run (as if each caller's signal aborted) and resolves once
   * each has settled and released its lease; later runs return at once. Never throws.
   */
  async stop(): Promise<void> {
    this.#stop.abort(new Error("server stopping"));
    await Promise.all([...this.#runs]);
  }

  async #run(
    name: string,
    run: (signal: AbortSignal) => Promise<void>,
    ttlMs: number | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const ttl = Math.max(30, ttlMs ?? this.ttlMs);
    const holder = `${this.#o.owner}/${randomUUID().slice(0, 8)}`;
    while (!signal.aborted) {
      const started = Date.now();
      let got = false;
      try {
        got = await this.#o.leases.acquire(name, holder, ttl, started);
      } catch (err) {
        this.#o.log?.warn({ lease: name, err: (err as Error).message }, "lease not taken");
      }
      if (signal.aborted) {
        if (got) await this.#release(name, holder);
        return;
      }
      if (!got) {
        this.#emit("busy", name, holder);
        await pause(ttl / 2, signal);
        continue;
      }
      this.#emit("acquired", name, holder);
      const held = await this.#hold(name, holder, ttl, started, run, signal);
      if (!held.lost) {
        if ("error" in held) throw held.error;
        return;
      }
      if ("error" in held) {
        this.#o.log?.warn(
          { lease: name, err: (held.error as Error)?.message },
          "exclusive run failed after its lease was lost",
        );
      }
    }
  }

  /** Runs `run` while renewing; releases unless lost. */
  async #hold(
    name: string,
    holder: string,
    ttl: number,
    acquiredAt: number,
    run: (signal: AbortSignal) => Promise<void>,
    outer: AbortSignal,
  ): Promise<{ lost: boolean; error?: unknown }> {
    const inner = new AbortController();
    let lost = false;
    const lose = (why: string) => {
      if (inner.signal.aborted) return;
      lost = true;
      this.#o.log?.warn({ lease: name, reason: why }, "lease lost; stopping the exclusive run");
      this.#emit("lost", name, holder);
      inner.abort(new Error(`lease ${name} lost: ${why}`));
    };
    const onOuter = () => inner.abort(outer.reason);
    outer.addEventListener("abort", onOuter, { once: true });
    // No successful renewal for a whole ttl: another holder may take it now.
    let deadline = setTimeout(() => lose("not renewed in time"), ttl - (Date.now() - acquiredAt));
    let renewing: Promise<void> | undefined;
    const renew = async () => {
      const at = Date.now();
      let ok = false;
      try {
        ok = await this.#o.leases.acquire(name, holder, ttl, at);
      } catch (err) {
        return lose(`renewal failed: ${(err as Error).message}`);
      }
      if (!ok) return lose("taken by another holder");
      if (inner.signal.aborted) return;
      clearTimeout(deadline);
      deadline = setTimeout(() => lose("not renewed in time"), ttl - (Date.now() - at));
      this.#emit("renewed", name, holder);
    };
    const timer = setInterval(() => {
      if (renewing || inner.signal.aborted) return;
      renewing = renew().finally(() => {
        renewing = undefined;
      });
    }, ttl / 3);
    let out: { lost: boolean; error?: unknown };
    try {
      await run(inner.signal);
      out = { lost };
    } catch (error) {
      out = { lost, error };
    } finally {
      clearInterval(timer);
      clearTimeout(deadline);
      outer.removeEventListener("abort", onOuter);
    }
    // A renewal still in flight would write the row again after the release.
    await renewing;
    if (!lost) await this.#release(name, holder);
    // `lost` as it was when `run` settled: a run that ended on its own is done.
    return out;
  }

  async #release(name: string, holder: string): Promise<void> {
    try {
      await this.#o.leases.release(name, holder);
      this.#emit("released", name, holder);
    } catch (err) {
      this.#o.log?.warn(
        { lease: name, err: (err as Error).message },
        "lease not released; it expires on its own",
      );
    }
  }
}
