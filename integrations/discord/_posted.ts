/**
 * Parts this process has posted, by delivery id, for `findOwnPost`: when an attempt of a
 * split reply fails after some parts went out (a follow-up answering 500 three times), the
 * outbox sends the delivery again and the parts already posted are skipped. Webhook
 * follow-ups carry no nonce, so this is the only check for them; it is in memory, so a crash
 * between a post and its record can still repeat a follow-up (at least once).
 */

/** How long a posted delivery id is remembered, ms (longer than the outbox's early retries). */
const KEEP_MS = 60 * 60_000;

/** Most ids kept; the oldest go first. */
const MAX_IDS = 10_000;

/** Delivery ids posted by this process. */
export class PostedParts {
  readonly #ids = new Map<string, number>();

  /** Records that the part with `deliveryId` was accepted by Discord. */
  add(deliveryId: string): void {
    const now = Date.now();
    for (const [id, at] of this.#ids) {
      if (at > now - KEEP_MS && this.#ids.size < MAX_IDS) break;
      this.#ids.delete(id);
    }
    this.#ids.set(deliveryId, now);
  }

  /** True when the part with `deliveryId` was posted by this process. */
  has(deliveryId: string): boolean {
    const at = this.#ids.get(deliveryId);
    return at !== undefined && at > Date.now() - KEEP_MS;
  }

  clear(): void {
    this.#ids.clear();
  }
}
