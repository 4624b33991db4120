/**
 * Inbound receipts: the (source, key) pairs of provider delivery ids already accepted, so a
 * redelivery creates nothing (dedupe at the door, DESIGN §4). A receipt is claimed in the
 * same transaction that stores the message, stamped with the ids that transaction creates
 * (made before the writes).
 */
import type { Kysely } from "kysely";
import { compiledQuery, type QueryHandle } from "./compiled.ts";
import type { Database } from "./schema.ts";

/** The ids a receipt was stamped with (`messageId` is "" for a receipt claimed without ids). */
export interface ReceiptIds {
  messageId: string;
  taskId: string | null;
}

/** A receipt seen before: its ids and the fingerprint it was claimed with (null for none). */
export interface SeenReceipt extends ReceiptIds {
  fingerprint: string | null;
}

// The hot path of every inbound message, compiled once (./compiled.ts).
const insertReceipt = compiledQuery<
  {
    source: string;
    key: string;
    fingerprint: string | null;
    messageId: string | null;
    taskId: string | null;
    createdAt: number;
  },
  { key: string }
>((db, p) =>
  db
    .insertInto("inbound_receipts")
    .values({
      source: p.source,
      key: p.key,
      message_id: p.messageId,
      task_id: p.taskId,
      fingerprint: p.fingerprint,
      created_at: p.createdAt,
    })
    .onConflict((oc) => oc.columns(["source", "key"]).doNothing())
    .returning("key"),
);

const selectReceipt = compiledQuery<
  { source: string; key: string },
  { message_id: string | null; task_id: string | null; fingerprint: string | null }
>((db, p) =>
  db
    .selectFrom("inbound_receipts")
    .select(["message_id", "task_id", "fingerprint"])
    .where("source", "=", p.source)
    .where("key", "=", p.key),
);

/** One claim of {@link ReceiptRepository.claimMany}. */
export interface ReceiptClaim {
  source: string;
  key: string;
  /** A digest of the request that carries the key; default none (null). */
  fingerprint?: string | null;
  /** The ids to stamp it with at once (see {@link ReceiptRepository.claim}); default none. */
  ids?: ReceiptIds;
}

/** A map key of (source, key); NUL cannot occur in either (text columns, checked inputs). */
const pairKey = (source: string, key: string) => `${source}\u0000${key}`;

/** Inbound receipts (dedupe at the door). */
export class ReceiptRepository {
  readonly #db: Kysely<Database>;
  readonly #q: QueryHandle;
  constructor(q: QueryHandle) {
    this.#db = q.kysely;
    this.#q = q;
  }

  /**
   * Records (source, key) with an optional request `fingerprint`; when it was already
   * recorded returns the ids and fingerprint stored with it, else undefined (this caller
   * owns the key). Call it on the repositories of the
   * transaction that stores the message. Under concurrency the unique key decides:
   * PostgreSQL makes a racing insert wait for the first transaction and then do nothing;
   * SQLite serialises writers.
   * @param ids the ids the caller will create when it owns the key (in the same
   *   transaction); default none, and a repeat then sees `messageId` "".
   */
  async claim(
    source: string,
    key: string,
    fingerprint: string | null = null,
    ids?: ReceiptIds,
  ): Promise<SeenReceipt | undefined> {
    const inserted = await insertReceipt.rows(this.#q, {
      source,
      key,
      fingerprint,
      messageId: ids?.messageId ?? null,
      taskId: ids?.taskId ?? null,
      createdAt: Date.now(),
    });
    if (inserted.length > 0) return undefined;
    const [r] = await selectReceipt.rows(this.#q, { source, key });
    return {
      messageId: r?.message_id ?? "",
      taskId: r?.task_id ?? null,
      fingerprint: r?.fingerprint ?? null,
    };
  }

  /**
   * {@link claim} for several keys in two statements at most (an insert of all, then one
   * read of those already recorded), for a batch of inbound messages. Of several claims of
   * one (source, key) in `claims`, the first is the claim and the later ones see it (its
   * ids and fingerprint), as if claimed one after the other. At most a few hundred claims
   * (one statement's parameters are bounded); a group-commit batch holds at most 64.
   * @returns per claim, in order: undefined when this claim owns the key, else what it saw
   */
  async claimMany(claims: ReceiptClaim[]): Promise<Array<SeenReceipt | undefined>> {
    if (claims.length === 1) {
      const c = claims[0]!;
      return [await this.claim(c.source, c.key, c.fingerprint ?? null, c.ids)];
    }
    const first = new Map<string, number>();
    claims.forEach((c, i) => {
      const k = pairKey(c.source, c.key);
      if (!first.has(k)) first.set(k, i);
    });
    // Inserted in key order: two transactions claiming overlapping keys take their index
    // entries in the same order, so neither holds one the other waits for.
    const owners = [...first.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1)) // the keys are distinct
      .map(([, i]) => claims[i]!);
    if (owners.length === 0) return [];
    const createdAt = Date.now();
    const inserted = await this.#db
      .insertInto("inbound_receipts")
      .values(
        owners.map((c) => ({
          source: c.source,
          key: c.key,
          message_id: c.ids?.messageId ?? null,
          task_id: c.ids?.taskId ?? null,
          fingerprint: c.fingerprint ?? null,
          created_at: createdAt,
        })),
      )
      .onConflict((oc) => oc.columns(["source", "key"]).doNothing())
      .returning(["source", "key"])
      .execute();
    const claimed = new Set(inserted.map((r) => pairKey(r.source, r.key)));
    const taken = owners.filter((c) => !claimed.has(pairKey(c.source, c.key)));
    const stored = new Map<string, SeenReceipt>();
    if (taken.length > 0) {
      const rows = await this.#db
        .selectFrom("inbound_receipts")
        .select(["source", "key", "message_id", "task_id", "fingerprint"])
        .where((eb) =>
          eb(
            eb.refTuple("source", "key"),
            "in",
            taken.map((c) => eb.tuple(c.source, c.key)),
          ),
        )
        .execute();
      for (const r of rows) {
        stored.set(pairKey(r.source, r.key), {
          messageId: r.message_id ?? "",
          taskId: r.task_id ?? null,
          fingerprint: r.fingerprint ?? null,
        });
      }
    }
    return claims.map((c, i) => {
      const k = pairKey(c.source, c.key);
      const owner = first.get(k)!;
      if (claimed.has(k)) {
        if (owner === i) return undefined;
        const o = claims[owner]!;
        return {
          messageId: o.ids?.messageId ?? "",
          taskId: o.ids?.taskId ?? null,
          fingerprint: o.fingerprint ?? null,
        };
      }
      return stored.get(k) ?? { messageId: "", taskId: null, fingerprint: null };
    });
  }

  /** True when (source, key) was already recorded (a cheap look before costly work). */
  async has(source: string, key: string): Promise<boolean> {
    const r = await this.#db
      .selectFrom("inbound_receipts")
      .select("key")
      .where("source", "=", source)
      .where("key", "=", key)
      .executeTakeFirst();
    return r !== undefined;
  }

  /**
   * Deletes receipts created before `before` (epoch ms).
   * @returns how many were deleted
   */
  async prune(before: number): Promise<number> {
    const r = await this.#db
      .deleteFrom("inbound_receipts")
      .where("created_at", "<", before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
