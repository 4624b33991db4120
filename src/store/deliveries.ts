/**
 * The delivery outbox: one row per outbound send. Rows are written in the same
 * transaction as the state change they report (a finished task), then claimed with a
 * lease by the delivery worker, so a crash never loses or duplicates the decision to send.
 */

import { type Kysely, sql } from "kysely";
import { uuidv7 } from "../ids.ts";
import { destinationOf } from "../lib/destination.ts";
import type { Dialect } from "./db.ts";
import { type AttemptDetails, attemptRows } from "./delivery-attempts.ts";
import { type ClaimedDelivery, type ClaimLimits, DeliveryClaims } from "./delivery-claim.ts";
import { fromJson } from "./json.ts";
import type { Database, DeliveriesTable, DeliveryStatus } from "./schema.ts";

/** A delivery as the code sees it. */
export interface Delivery {
  /** Stable across retries and replays: the receiver's idempotency key. */
  id: string;
  taskId: string | null;
  targetType: string;
  target: Record<string, unknown>;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
  /** The webhook subscription of an event delivery, else null. */
  subscriptionId: string | null;
  /** The receiver it goes to (`lib/destination.ts`), e.g. `https://x.example#3fa9c2d1`. */
  destination: string;
  /** W3C `traceparent` of the work that queued it: its send's span is a child of it; or null. */
  traceparent?: string | null;
}

/** A delivery just claimed by {@link DeliveryRepository.claimDue}. */
export type { ClaimedDelivery, ClaimLimits } from "./delivery-claim.ts";

/** A row as the API and workers see it. */
export function toDelivery(r: DeliveriesTable): Delivery {
  return {
    id: r.id,
    taskId: r.task_id,
    targetType: r.target_type,
    target: fromJson(r.target, {}),
    payload: fromJson(r.payload, {}),
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    lastStatus: r.last_status == null ? null : Number(r.last_status),
    lastError: r.last_error,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    deliveredAt: r.delivered_at == null ? null : Number(r.delivered_at),
    subscriptionId: r.subscription_id ?? null,
    destination: r.destination ?? r.target_type,
    traceparent: r.traceparent ?? null,
  };
}

/** What a new delivery row holds. */
export interface NewDelivery {
  taskId?: string | null;
  /** The sender: a dispatcher name, or a core target type (`event`, `notification`). */
  targetType: string;
  target: Record<string, unknown>;
  payload: Record<string, unknown>;
  subscriptionId?: string | null;
  /** The receiver; default derived from `target.url` (see `lib/destination.ts`). */
  destination?: string;
  /** W3C `traceparent` of the work that queues it (`telemetry/spans.ts`); default none. */
  traceparent?: string | null;
  /**
   * Insert it already claimed by `owner` for `ms` (attempt 1 counted), for a caller that
   * sends it at once; if that caller dies, the lease expires and the worker sends it.
   */
  lease?: { owner: string; ms: number };
}

/** The outcome of one attempt, as {@link DeliveryRepository.recordAttempt} writes it. */
export type DeliveryOutcome =
  | { status: "delivered"; httpStatus?: number | null }
  | { status: "failed"; nextAttemptAt: number; httpStatus?: number | null; error: string }
  | { status: "dead"; httpStatus?: number | null; error: string };

/**
 * One attempt's outcome, for {@link DeliveryRepository.recordAttempts}; with `details`, a
 * `delivery_attempts` row is written too (in the same transaction).
 */
export type DeliveryOutcomeRecord = { id: string; details?: AttemptDetails } & DeliveryOutcome;

/** Filters of {@link DeliveryRepository.list}. */
export interface DeliveryFilter {
  status?: DeliveryStatus;
  taskId?: string;
  subscriptionId?: string;
  targetType?: string;
  destination?: string;
  /** Only ids below this one (the previous page's last id), for paging. */
  before?: string;
  limit?: number;
}

/** The outbox's storage. */
export class DeliveryRepository {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  readonly #claims: DeliveryClaims;
  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
    this.#claims = new DeliveryClaims(db);
  }

  /**
   * Adds a pending delivery, due now.
   * @returns its id (UUIDv7), the receiver's idempotency key
   */
  async insert(d: NewDelivery): Promise<string> {
    return (await this.insertRows([d]))[0]!.id;
  }

  /** Like {@link insert}, returning the whole row. */
  async insertRow(d: NewDelivery): Promise<Delivery> {
    return (await this.insertRows([d]))[0]!;
  }

  /** Inserts several deliveries in one statement; returns their rows in the same order. */
  async insertRows(list: NewDelivery[]): Promise<Delivery[]> {
    if (list.length === 0) return [];
    const rows = list.map(newRow);
    await this.#db.insertInto("deliveries").values(rows).execute();
    // The caller's own objects, not a parse of the JSON just written.
    return rows.map((r, i) => ({
      ...toDelivery({ ...r, target: "{}", payload: "{}" }),
      target: list[i]!.target,
      payload: list[i]!.payload,
    }));
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
    return this.#claims.claimDue(owner, limit, leaseMs, limits);
  }

  /**
   * Deliveries waiting (pending or failed, leased or not) and leased now, per destination,
   * for the destinations view; only destinations with any.
   */
  async countByDestination(): Promise<
    Array<{ destination: string; waiting: number; leased: number }>
  > {
    const now = Date.now();
    const rows = await sql<{ destination: string; waiting: unknown; leased: unknown }>`
      SELECT destination, COUNT(*) AS waiting,
        SUM(CASE WHEN lease_expires_at >= ${now} THEN 1 ELSE 0 END) AS leased
      FROM deliveries WHERE status IN ('pending', 'failed')
      GROUP BY destination ORDER BY destination`.execute(this.#db);
    return rows.rows.map((r) => ({
      destination: r.destination,
      waiting: Number(r.waiting),
      leased: Number(r.leased ?? 0),
    }));
  }

  /** Records the outcome of an attempt by `owner` (a row another owner holds now is left alone). */
  recordAttempt(id: string, owner: string, outcome: DeliveryOutcome): Promise<void> {
    return recordAttempt(this.#db, id, owner, outcome);
  }

  /**
   * Records several attempts by `owner` in one transaction (the caller's, when this
   * repository is bound to one): the delivered ones sharing an HTTP status in one
   * statement, the others one by one. Same rules as {@link recordAttempt}.
   */
  async recordAttempts(owner: string, outcomes: DeliveryOutcomeRecord[]): Promise<void> {
    const delivered = new Map<number | null, string[]>();
    const others: DeliveryOutcomeRecord[] = [];
    for (const o of outcomes) {
      if (o.status !== "delivered") {
        others.push(o);
        continue;
      }
      const key = o.httpStatus ?? null;
      const ids = delivered.get(key) ?? [];
      ids.push(o.id);
      delivered.set(key, ids);
    }
    const write = async (trx: Kysely<Database>) => {
      const now = Date.now();
      for (const [httpStatus, ids] of delivered) {
        await trx
          .updateTable("deliveries")
          .set({
            status: "delivered",
            lease_owner: null,
            lease_expires_at: null,
            last_status: httpStatus,
            last_error: null,
            next_attempt_at: now,
            delivered_at: now,
            updated_at: now,
          })
          .where("id", "in", ids)
          .where("lease_owner", "=", owner)
          .execute();
      }
      for (const o of others) await recordAttempt(trx, o.id, owner, o);
      const attempts = attemptRows(
        outcomes.flatMap((o) =>
          o.details
            ? [
                {
                  deliveryId: o.id,
                  status: o.status,
                  httpStatus: o.httpStatus ?? null,
                  error: o.status === "delivered" ? null : o.error,
                  details: o.details,
                },
              ]
            : [],
        ),
      );
      if (attempts.length) await trx.insertInto("delivery_attempts").values(attempts).execute();
    };
    if (this.#db.isTransaction) return write(this.#db);
    await this.#db.transaction().execute(async (trx) => {
      // PostgreSQL: an outcome lost to a database crash only means the delivery is sent
      // again (at least once, deduplicated by webhook-id), so skip waiting for the flush.
      if (this.#dialect === "postgres") {
        await sql`SET LOCAL synchronous_commit = off`.execute(trx);
      }
      await write(trx);
    });
  }

  /** One delivery, or undefined. */
  async get(id: string): Promise<Delivery | undefined> {
    const r = await this.#db
      .selectFrom("deliveries")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return r ? toDelivery(r) : undefined;
  }

  /** Deliveries updated at or after `since` (ms), oldest change first, at most `limit`. */
  async listUpdatedSince(since: number, limit: number): Promise<Delivery[]> {
    const rows = await this.#db
      .selectFrom("deliveries")
      .selectAll()
      .where("updated_at", ">=", since)
      .orderBy("updated_at", "asc")
      .orderBy("id", "asc")
      .limit(limit)
      .execute();
    return rows.map(toDelivery);
  }

  /** Deliveries, newest first, optionally filtered (default at most 100). */
  async list(filter: DeliveryFilter): Promise<Delivery[]> {
    let q = this.#db.selectFrom("deliveries").selectAll();
    if (filter.status) q = q.where("status", "=", filter.status);
    if (filter.taskId) q = q.where("task_id", "=", filter.taskId);
    if (filter.subscriptionId) q = q.where("subscription_id", "=", filter.subscriptionId);
    if (filter.targetType) q = q.where("target_type", "=", filter.targetType);
    if (filter.destination) q = q.where("destination", "=", filter.destination);
    if (filter.before) q = q.where("id", "<", filter.before);
    const rows = await q
      .orderBy("id", "desc")
      .limit(filter.limit ?? 100)
      .execute();
    return rows.map(toDelivery);
  }

  /**
   * Makes a delivered, failed or dead delivery due now, keeping its id (the receiver's
   * idempotency key). A delivery being sent right now (leased) is left alone, so a replay
   * never races a send in flight. False when unknown or in flight.
   */
  async replay(id: string): Promise<boolean> {
    const now = Date.now();
    const r = await this.#db
      .updateTable("deliveries")
      .set({
        status: "pending",
        // A fresh run of the schedule: a replay that fails is retried, not dead at once.
        attempts: 0,
        next_attempt_at: now,
        lease_owner: null,
        lease_expires_at: null,
        updated_at: now,
      })
      .where("id", "=", id)
      .where("status", "in", ["delivered", "failed", "dead"])
      .where((eb) => eb.or([eb("lease_expires_at", "is", null), eb("lease_expires_at", "<", now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** How many deliveries are in each status (statuses with none are absent). */
  async countByStatus(): Promise<Array<{ status: DeliveryStatus; count: number }>> {
    const rows = await this.#db
      .selectFrom("deliveries")
      .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy("status")
      .execute();
    return rows.map((r) => ({ status: r.status, count: Number(r.n) }));
  }
}

async function recordAttempt(
  db: Kysely<Database>,
  id: string,
  owner: string,
  outcome: DeliveryOutcome,
): Promise<void> {
  const now = Date.now();
  await db
    .updateTable("deliveries")
    .set({
      status: outcome.status,
      lease_owner: null,
      lease_expires_at: null,
      last_status: outcome.httpStatus ?? null,
      last_error: outcome.status === "delivered" ? null : outcome.error.slice(0, 2000),
      next_attempt_at: outcome.status === "failed" ? outcome.nextAttemptAt : now,
      delivered_at: outcome.status === "delivered" ? now : null,
      updated_at: now,
    })
    .where("id", "=", id)
    .where("lease_owner", "=", owner)
    .execute();
}

function newRow(d: NewDelivery): DeliveriesTable {
  const now = Date.now();
  const id = uuidv7();
  return {
    id,
    task_id: d.taskId ?? null,
    target_type: d.targetType,
    target: JSON.stringify(d.target),
    payload: JSON.stringify(d.payload),
    status: "pending",
    attempts: d.lease ? 1 : 0,
    next_attempt_at: now,
    lease_owner: d.lease?.owner ?? null,
    lease_expires_at: d.lease ? now + d.lease.ms : null,
    last_status: null,
    last_error: null,
    created_at: now,
    updated_at: now,
    delivered_at: null,
    subscription_id: d.subscriptionId ?? null,
    destination: d.destination ?? destinationOf(d.targetType, d.target),
    traceparent: d.traceparent ?? null,
  };
}
