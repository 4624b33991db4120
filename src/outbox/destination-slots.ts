/**
 * Sends in flight per destination (`lib/destination.ts`) in this process: the delivery
 * worker's claimed sends and inline sends (`DeliveryWorker.sendNow`) alike. The worker
 * reads it to keep a destination being probed after its cool-off to one send at a time;
 * the per-destination cap on claims is enforced by the claim query itself.
 */
export class DestinationSlots {
  /** Sends in flight per destination; a destination with none has no entry. */
  readonly #inFlight = new Map<string, number>();

  /** How many sends to `destination` are in flight now (0 when none). */
  inFlight(destination: string): number {
    return this.#inFlight.get(destination) ?? 0;
  }

  /**
   * Counts `run` as a send in flight to `destination` until it settles (resolved or
   * rejected); returns what `run` returns and rethrows what it throws.
   */
  async track<T>(destination: string, run: () => Promise<T>): Promise<T> {
    this.#inFlight.set(destination, this.inFlight(destination) + 1);
    try {
      return await run();
    } finally {
      const n = (this.#inFlight.get(destination) ?? 1) - 1;
      if (n > 0) this.#inFlight.set(destination, n);
      else this.#inFlight.delete(destination);
    }
  }
}
