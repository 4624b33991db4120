/**
 * Notification history: one row per notification, newest {@link NOTIFICATION_HISTORY_LIMIT}
 * kept (older rows are pruned in the transaction that writes a new one). Ids are UUIDv7,
 * so ordering by id is ordering by creation time. A notification sent through the outbox
 * names its delivery row; reads join it so the history shows the live delivery status.
 */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import { fromJson } from "./json.ts";
import type { Database, DeliveryStatus } from "./schema.ts";

/** Rows kept in the history (seed 003: "Max notification history: 200 entries"). */
export const NOTIFICATION_HISTORY_LIMIT = 200;

/** A notification as the code sees it. Times are ms since the epoch. */
export interface Notification {
  id: string;
  channel: string;
  message: string;
  priority: string;
  /** True once the receiver took it (inline or on a later outbox attempt). */
  delivered: boolean;
  /** Its outbox row, or null when nothing was sent (e.g. email without SMTP). */
  deliveryId: string | null;
  /** Secret-free details written with it: destination host, attachment count, reason… */
  meta: Record<string, unknown>;
  createdAt: number;
  /** The outbox row's state, when there is one (and it still exists). */
  delivery: {
    status: DeliveryStatus;
    attempts: number;
    lastStatus: number | null;
    lastError: string | null;
    deliveredAt: number | null;
    updatedAt: number;
  } | null;
}

/** What a new notification row holds. */
export interface NewNotification {
  channel: string;
  message: string;
  priority: string;
  meta: Record<string, unknown>;
}

/** The notification history. */
export class NotificationRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Writes a notification (not delivered, no delivery yet) and prunes the history to the
   * newest `keep` rows. Call it on a transaction's repositories (`store.transaction`) so
   * that writing and pruning are one step.
   * @returns the new id (UUIDv7)
   */
  async insert(n: NewNotification, keep = NOTIFICATION_HISTORY_LIMIT): Promise<string> {
    const id = uuidv7();
    await this.#db
      .insertInto("notifications")
      .values({
        id,
        channel: n.channel,
        message: n.message,
        priority: n.priority,
        delivered: 0,
        delivery_id: null,
        meta: JSON.stringify(n.meta),
        created_at: Date.now(),
      })
      .execute();
    await this.#db
      .deleteFrom("notifications")
      .where(
        "id",
        "not in",
        this.#db.selectFrom("notifications").select("id").orderBy("id", "desc").limit(keep),
      )
      .execute();
    return id;
  }

  /** Links a notification to its outbox row (after the first attempt). */
  async setDelivery(id: string, deliveryId: string): Promise<void> {
    await this.#db
      .updateTable("notifications")
      .set({ delivery_id: deliveryId })
      .where("id", "=", id)
      .execute();
  }

  /** Marks a notification delivered (the outbox sender calls it on success; idempotent). */
  async markDelivered(id: string): Promise<void> {
    await this.#db
      .updateTable("notifications")
      .set({ delivered: 1 })
      .where("id", "=", id)
      .where("delivered", "=", 0)
      .execute();
  }

  /**
   * The history, newest first, with each notification's outbox row.
   * @param limit rows returned, at most {@link NOTIFICATION_HISTORY_LIMIT} (default all)
   */
  async list(limit = NOTIFICATION_HISTORY_LIMIT): Promise<Notification[]> {
    const rows = await this.#db
      .selectFrom("notifications as n")
      .leftJoin("deliveries as d", "d.id", "n.delivery_id")
      .select([
        "n.id",
        "n.channel",
        "n.message",
        "n.priority",
        "n.delivered",
        "n.delivery_id",
        "n.meta",
        "n.created_at",
        "d.status as d_status",
        "d.attempts as d_attempts",
        "d.last_status as d_last_status",
        "d.last_error as d_last_error",
        "d.delivered_at as d_delivered_at",
        "d.updated_at as d_updated_at",
      ])
      .orderBy("n.id", "desc")
      .limit(Math.max(0, Math.min(limit, NOTIFICATION_HISTORY_LIMIT)))
      .execute();
    return rows.map((r) => ({
      id: r.id,
      channel: r.channel,
      message: r.message,
      priority: r.priority,
      delivered: Number(r.delivered) === 1 || r.d_status === "delivered",
      deliveryId: r.delivery_id,
      meta: fromJson<Record<string, unknown>>(r.meta, {}),
      createdAt: Number(r.created_at),
      delivery:
        r.d_status == null
          ? null
          : {
              status: r.d_status,
              attempts: Number(r.d_attempts),
              lastStatus: r.d_last_status == null ? null : Number(r.d_last_status),
              lastError: r.d_last_error ?? null,
              deliveredAt: r.d_delivered_at == null ? null : Number(r.d_delivered_at),
              updatedAt: Number(r.d_updated_at),
            },
    }));
  }

  /** Rows in the history (for tests and diagnostics). */
  async count(): Promise<number> {
    const r = await this.#db
      .selectFrom("notifications")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
