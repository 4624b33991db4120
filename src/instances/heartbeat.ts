/**
 * This instance's heartbeat (issue 14, several instances on one database): writes its row
 * of `instances` (id, version, hostname, start time) at start and every `intervalMs`,
 * deletes it on stop. An instance is live while its last heartbeat is within 3 intervals
 * ({@link liveSince}); rows silent for a day are pruned by whoever beats.
 */
import type { Logger } from "pino";
import type { InstanceRepository } from "../store/instances.ts";

/** Default time between heartbeats, ms. */
export const DEFAULT_HEARTBEAT_MS = 5_000;

/** Rows not heard from for this long are deleted, ms (one day). */
const PRUNE_AFTER_MS = 86_400_000;

/** The oldest heartbeat (ms since the epoch) that still counts as live at `now`. */
export function liveSince(now: number, intervalMs: number): number {
  return now - 3 * intervalMs;
}

/** What the heartbeat is built from. */
export interface HeartbeatOptions {
  instances: Pick<InstanceRepository, "beat" | "remove" | "prune">;
  /** This instance's owner id (as in its leases). */
  id: string;
  version: string;
  hostname: string;
  /** Time between heartbeats, ms (default 5 000). */
  intervalMs?: number;
  log?: Pick<Logger, "warn">;
}

/** Writes this instance's row periodically. */
export class InstanceHeartbeat {
  readonly #o: HeartbeatOptions;
  readonly startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;

  constructor(opts: HeartbeatOptions) {
    this.#o = opts;
  }

  /** Time between heartbeats, ms. */
  get intervalMs(): number {
    return this.#o.intervalMs ?? DEFAULT_HEARTBEAT_MS;
  }

  /** Writes the first heartbeat (awaited; a failure is logged) and starts the timer. */
  async start(): Promise<void> {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => {
        this.#beating = undefined;
      });
    }, this.intervalMs);
    this.#timer.unref();
    await this.#beat();
  }

  /** Stops the timer and deletes this instance's row (a failure is logged). Never throws. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    try {
      await this.#o.instances.remove(this.#o.id);
    } catch (err) {
      this.#o.log?.warn({ err: (err as Error).message }, "instance row not removed");
    }
  }

  async #beat(): Promise<void> {
    const now = Date.now();
    try {
      await this.#o.instances.beat({
        id: this.#o.id,
        version: this.#o.version,
        hostname: this.#o.hostname,
        startedAt: this.startedAt,
        lastHeartbeatAt: now,
      });
      await this.#o.instances.prune(now - PRUNE_AFTER_MS);
    } catch (err) {
      this.#o.log?.warn({ err: (err as Error).message }, "instance heartbeat not written");
    }
  }
}
