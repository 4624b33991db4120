/**
 * Writing delivery outcomes in batches: the outcomes that arrive while a write is in
 * flight go together in the next one (one transaction for many sends under load).
 */
import type { Logger } from "pino";
import type { DeliveryOutcomeRecord } from "../store/deliveries.ts";
import type { Store } from "../store/index.ts";

/** Most outcomes per write. */
const BATCH = 500;

/** Batches a worker's outcomes into few writes. */
export class OutcomeWriter {
  readonly #store: Store;
  readonly #owner: string;
  readonly #log: Logger;
  #pending: Array<{ rec: DeliveryOutcomeRecord; done: () => void }> = [];
  #writing: Promise<void> | undefined;

  constructor(store: Store, owner: string, log: Logger) {
    this.#store = store;
    this.#owner = owner;
    this.#log = log;
  }

  /**
   * Writes `rec` with the others waiting; resolves once it is written. Never rejects: on
   * a database error (logged) the lease runs out and the delivery is tried again — at least
   * once, never lost.
   */
  write(rec: DeliveryOutcomeRecord): Promise<void> {
    return new Promise<void>((done) => {
      this.#pending.push({ rec, done });
      this.#writing ??= this.#flush();
    });
  }

  /** Resolves once every outcome handed over so far is written. */
  async settled(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #flush(): Promise<void> {
    // Let the sends finishing in this turn of the event loop join the batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.#pending.length) {
      const batch = this.#pending.splice(0, BATCH);
      try {
        await this.#store.deliveries.recordAttempts(
          this.#owner,
          batch.map((b) => b.rec),
        );
      } catch (err) {
        this.#log.warn(
          { deliveries: batch.length, err: (err as Error).message },
          "delivery outcomes not recorded; their leases will expire and they are sent again",
        );
      }
      for (const b of batch) b.done();
    }
    this.#writing = undefined;
  }
}
