/**
 * Inbound receipts: the (source, key) pairs of provider delivery ids already accepted, so a
 * redelivery creates nothing (dedupe at the door, DESIGN §4). A receipt is claimed in the
 * same transaction that stores the message, then stamped with the ids it created.
 */
import type { Kysely } from "kysely";
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

/** Inbound receipts (dedupe at the door). */
export class ReceiptRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Records (source, key) with an optional request `fingerprint`; when it was already
   * recorded returns the ids and fingerprint stored with it, else undefined (this caller
   * owns the key). Call it on the repositories of the
   * transaction that stores the message. Under concurrency the unique key decides:
   * PostgreSQL makes a racing insert wait for the first transaction and then do nothing;
   * SQLite serialises writers.
   */
  async claim(
    source: string,
    key: string,
    fingerprint: string | null = null,
  ): Promise<SeenReceipt | undefined> {
    const inserted = await this.#db
      .insertInto("inbound_receipts")
      .values({
        source,
        key,
        message_id: null,
        task_id: null,
        fingerprint,
        created_at: Date.now(),
      })
      .onConflict((oc) => oc.columns(["source", "key"]).doNothing())
      .returning("key")
      .execute();
    if (inserted.length > 0) return undefined;
    const r = await this.#db
      .selectFrom("inbound_receipts")
      .select(["message_id", "task_id", "fingerprint"])
      .where("source", "=", source)
      .where("key", "=", key)
      .executeTakeFirst();
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
    await this.#db
      .updateTable("inbound_receipts")
      .set({ message_id: ids.messageId, task_id: ids.taskId })
      .where("source", "=", source)
      .where("key", "=", key)
      .execute();
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
