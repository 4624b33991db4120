/**
 * Claiming due deliveries for a worker, fairly across destinations and within each
 * destination's cap (see {@link DeliveryClaims.claimDue}).
 */
import { type Kysely, sql } from "kysely";
import { type Delivery, toDelivery } from "./deliveries.ts";
import type { Database, DeliveriesTable } from "./schema.ts";

export interface ClaimedDelivery extends Delivery {
  /**
   * The owner whose lease on it had expired without an outcome (a crashed or stalled
   * instance), when this claim resumes its attempt; else undefined.
   */
  resumedFrom?: string;
}

/** Limits of {@link DeliveryRepository.claimDue}. */
export interface ClaimLimits {
  /**
   * Most deliveries of one destination leased at once, counting those already leased by
   * any owner (inline sends included); default unlimited. Checked at claim time, so two
   * instances claiming at the same moment may together exceed it briefly.
   */
  perDestination?: number;
  /** Destinations not to claim from (their circuit breaker is open). */
  skip?: string[];
  /** Destinations being probed after a cool-off: at most one delivery leased at once. */
  probe?: string[];
}

/** Claims of due deliveries (the delivery repository's `claimDue`). */
export class DeliveryClaims {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Claims up to `limit` deliveries that are due (pending or failed with `next_attempt_at`
   * passed, or whose previous claimer's lease expired), leasing them to `owner` for `leaseMs`.
   * Fair across destinations: the oldest due delivery of each destination first, then the
   * second of each, and so on (round robin by age), within `limits`. A row whose lease ran
   * out without an outcome comes back with `resumedFrom` naming its previous owner.
   */
  async claimDue(
    owner: string,
    limit: number,
    leaseMs: number,
    limits: ClaimLimits = {},
  ): Promise<ClaimedDelivery[]> {
    const now = Date.now();
    const due = sql`status IN ('pending', 'failed') AND next_attempt_at <= ${now}
      AND (lease_expires_at IS NULL OR lease_expires_at < ${now})`;
    const skip = limits.skip?.length
      ? sql`AND destination NOT IN (${sql.join(limits.skip)})`
      : sql``;
    const cap = limits.perDestination ?? 1_000_000_000;
    const probing = new Set(limits.probe ?? []);
    // Step 1: pick, without locking; step 2 re-checks every condition while it writes, so
    // a row another owner took in between is skipped. The pick is fair across destinations:
    // the destinations with due rows, oldest first (one aggregate over the due rows, no sort
    // of them), then for each at most its room under the cap through the
    // (destination, next_attempt_at) index, taken round robin: the first row of each
    // destination, then the second… So a claim costs a scan of due rows plus one short
    // indexed read per destination, however long one destination's backlog is.
    // Rows leased now (by any owner, inline sends included): few, at most the sends in
    // flight. A destination at its cap is left out of the pick, so it cannot crowd out others.
    const busyRows = await sql<{ destination: string; n: number | string }>`
      SELECT destination, COUNT(*) AS n FROM deliveries
      WHERE status IN ('pending', 'failed') AND lease_expires_at >= ${now}
      GROUP BY destination`.execute(this.#db);
    const busy = new Map(busyRows.rows.map((r) => [r.destination, Number(r.n)]));
    const full = [...busy].filter(([d, n]) => n >= (probing.has(d) ? 1 : cap)).map(([d]) => d);
    const notFull = full.length ? sql`AND destination NOT IN (${sql.join(full)})` : sql``;
    const destinations = await sql<{ destination: string }>`
      SELECT destination, MIN(next_attempt_at) AS first FROM deliveries
      WHERE ${due} ${skip} ${notFull}
      GROUP BY destination ORDER BY first, destination
      LIMIT ${limit}`.execute(this.#db);
    if (destinations.rows.length === 0) return [];
    const names = destinations.rows.map((r) => r.destination);
    const perDestination: Array<Array<{ id: string; lease_owner: string | null }>> = [];
    for (const name of names) {
      const room = Math.min(limit, (probing.has(name) ? 1 : cap) - (busy.get(name) ?? 0));
      if (room <= 0) continue;
      const rows = await sql<{ id: string; lease_owner: string | null }>`
        SELECT id, lease_owner FROM deliveries
        WHERE destination = ${name} AND ${due}
        ORDER BY next_attempt_at, id
        LIMIT ${room}`.execute(this.#db);
      perDestination.push(rows.rows);
    }
    const picked: Array<{ id: string; lease_owner: string | null }> = [];
    for (let rank = 0; picked.length < limit; rank++) {
      let any = false;
      for (const rows of perDestination) {
        const row = rows[rank];
        if (!row) continue;
        any = true;
        picked.push(row);
        if (picked.length === limit) break;
      }
      if (!any) break;
    }
    if (picked.length === 0) return [];
    const previous = new Map(picked.map((r) => [r.id, r.lease_owner]));
    const res = await sql<DeliveriesTable>`
      UPDATE deliveries SET lease_owner = ${owner}, lease_expires_at = ${now + leaseMs},
        attempts = attempts + 1, updated_at = ${now}
      WHERE id IN (${sql.join([...previous.keys()])}) AND ${due}
      RETURNING *`.execute(this.#db);
    return res.rows.map((r) => {
      const d: ClaimedDelivery = toDelivery(r);
      const before = previous.get(d.id);
      if (before) d.resumedFrom = before;
      return d;
    });
  }
}
