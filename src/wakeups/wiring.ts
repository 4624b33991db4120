/**
 * Builds an instance's {@link WakeupBus} over its store and connects it to the workers it
 * wakes; `app.ts` calls these two and tells the bus where work is committed.
 */
import type { Logger } from "pino";
import type { Store } from "../store/index.ts";
import { WakeupBus, type WakeupEvent } from "./bus.ts";

/** Options of {@link createWakeups}. Times in ms. */
export interface WakeupsOptions {
  /** This instance's id (its lease owner id). */
  owner: string;
  log: Logger;
  /** Told of every bus event (tests). */
  onEvent?: (e: WakeupEvent) => void;
  /** First reconnect delay of the listening connection (default 250, doubling to 5000). */
  reconnectMs?: number;
}

/** The bus of one instance over the store's wake channel; started by `App.start`. */
export function createWakeups(store: Store, opts: WakeupsOptions): WakeupBus {
  return new WakeupBus({
    channel: store.wakeChannel({
      reconnectMs: opts.reconnectMs,
      // Visible in pg_stat_activity; the owner id holds no secret (host:pid:random).
      applicationName: `switchyard wakeups ${opts.owner}`.slice(0, 63),
    }),
    origin: opts.owner,
    log: opts.log,
    onEvent: opts.onEvent,
  });
}

/** What a wake-up pokes: each looks for its work on this instance only. */
export interface WakeTargets {
  tasks: { wake(): void };
  deliveries: { wake(): void };
  scheduler: { poke(): void };
}

/** Pokes this instance's workers when another instance tells of work (or after a reconnect). */
export function wakeWorkers(bus: WakeupBus, targets: () => WakeTargets): void {
  bus.on("task", () => targets().tasks.wake());
  bus.on("delivery", () => targets().deliveries.wake());
  bus.on("job", () => targets().scheduler.poke());
}
