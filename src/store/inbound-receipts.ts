/**
 * Inbound receipts: the (source, key) pairs of provider delivery ids already accepted, so a
 * redelivery creates nothing (dedupe at the door, DESIGN §4). A receipt is claimed in the
 * same transaction that stores the message, then stamped with the ids it created.
 */
import type { Kysely } from "kysely";
import { compiledQuery, type QueryHandle } from "./compiled.ts";
import type { Database } from "./schema.ts";

/** The ids a receipt was stamped with (`messageId` is "" when a racer has not stamped yet). */
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

const stampReceipt = compiledQuery<{
  source: string;
  key: string;
  messageId: string;
  taskId: string | null;
}>((db, p) =>
  db
    .updateTable("inbound_receipts")
    .set({ message_id: p.messageId, task_id: p.taskId })
    .where("source", "=", p.source)
    .where("key", "=", p.key),
);

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
   * @param ids the ids the caller will create when it owns the key, stamped at once (one
   *   statement fewer than {@link stamp}); the caller must create them in the same
   *   transaction. Default none: stamp them later.
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

  /** Stamps a claimed receipt with the message (and task) it created, in the same transaction. */
  async stamp(source: string, key: string, ids: ReceiptIds): Promise<void> {
    await stampReceipt.execute(this.#q, {
      source,
      key,
      messageId: ids.messageId,
      taskId: ids.taskId,
    });
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
