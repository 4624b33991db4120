/**
 * Webhook subscriptions (table `webhook_subscriptions`, migration 0006): outbound endpoints
 * for events, unique by URL. The signing secret is write-only: it is encrypted at rest with
 * AES-256-GCM when `SWITCHYARD_SECRET_KEY` is set (the same scheme as integration
 * settings) and only {@link WebhookSubscriptionRepository.getForSend} returns it.
 */
import { type Kysely, sql } from "kysely";
import { uuidv7 } from "../ids.ts";
import { decryptSetting, encryptSetting } from "./integration-settings.ts";
import { fromJson } from "./json.ts";
import type { Database, WebhookSubscriptionsTable } from "./schema.ts";

/** A subscription without its secret. Times in ms since the epoch. */
export interface WebhookSubscription {
  id: string;
  url: string;
  /** Subscribed event names; empty = every event. */
  events: string[];
  hasSecret: boolean;
  createdAt: number;
  updatedAt: number;
  /** When it was disabled (receiver answered 410 Gone), else null. */
  disabledAt: number | null;
  disabledReason: string | null;
}

/** What the sender needs: the subscription and its decrypted secret (null = unsigned). */
export interface SubscriptionForSend extends WebhookSubscription {
  secret: string | null;
}

/** Input of {@link WebhookSubscriptionRepository.upsert}. */
export interface UpsertSubscription {
  url: string;
  /** Event names; empty = every event; `undefined` = every event on insert, kept on update. */
  events?: string[];
  /** New secret; `null` removes it; `undefined` keeps the stored one on update. */
  secret?: string | null;
}

function toSubscription(r: WebhookSubscriptionsTable): WebhookSubscription {
  return {
    id: r.id,
    url: r.url,
    events: fromJson<string[]>(r.events, []),
    hasSecret: r.secret != null && r.secret !== "",
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    disabledAt: r.disabled_at == null ? null : Number(r.disabled_at),
    disabledReason: r.disabled_reason,
  };
}

/** Repository of webhook subscriptions. */
export class WebhookSubscriptionRepository {
  readonly #db: Kysely<Database>;
  readonly #key: string | undefined;

  /** @param secretKey `SWITCHYARD_SECRET_KEY`: secrets are encrypted at rest when given */
  constructor(db: Kysely<Database>, secretKey: string | undefined) {
    this.#db = db;
    this.#key = secretKey;
  }

  /**
   * Inserts the subscription of `url`, or updates the existing one (events and secret when
   * given, `updated_at`; a disabled one is enabled again). One statement (`INSERT … ON
   * CONFLICT (url) DO UPDATE`), so concurrent registrations of one URL never duplicate it.
   * `updated_at` strictly increases on every update, even within one millisecond.
   * @returns the row and whether it was created
   */
  async upsert(input: UpsertSubscription): Promise<{ created: boolean; sub: WebhookSubscription }> {
    const now = Date.now();
    const id = uuidv7();
    const secret = input.secret ? this.#seal(input.secret) : null;
    const events = JSON.stringify(input.events ?? []);
    const row = await this.#db
      .insertInto("webhook_subscriptions")
      .values({
        id,
        url: input.url,
        events,
        secret: secret?.value ?? null,
        secret_encrypted: secret?.encrypted ?? 0,
        disabled_at: null,
        disabled_reason: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column("url").doUpdateSet({
          ...(input.events !== undefined ? { events } : {}),
          disabled_at: null,
          disabled_reason: null,
          updated_at: sql<number>`CASE WHEN excluded.updated_at > webhook_subscriptions.updated_at
            THEN excluded.updated_at ELSE webhook_subscriptions.updated_at + 1 END`,
          ...(input.secret !== undefined
            ? { secret: secret?.value ?? null, secret_encrypted: secret?.encrypted ?? 0 }
            : {}),
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return { created: row.id === id, sub: toSubscription(row) };
  }

  /** Every subscription, oldest first. */
  async list(): Promise<WebhookSubscription[]> {
    return (await this.#all()).map(toSubscription);
  }

  /**
   * Every subscription, oldest first, and their decrypted secrets by id (null = none); a
   * secret that cannot be decrypted is left out of the map (`getForSend` reports it).
   */
  async listWithSecrets(): Promise<{
    subs: WebhookSubscription[];
    secrets: Map<string, string | null>;
  }> {
    const rows = await this.#all();
    const secrets = new Map<string, string | null>();
    for (const r of rows) {
      try {
        secrets.set(r.id, this.#open(r));
      } catch {}
    }
    return { subs: rows.map(toSubscription), secrets };
  }

  /** The subscription with this id, or undefined. */
  async get(id: string): Promise<WebhookSubscription | undefined> {
    const r = await this.#db
      .selectFrom("webhook_subscriptions")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return r ? toSubscription(r) : undefined;
  }

  /**
   * The subscription with its decrypted secret, for signing a send; undefined when gone.
   * @throws SettingDecryptError when the secret was encrypted with another (or no) key
   */
  async getForSend(id: string): Promise<SubscriptionForSend | undefined> {
    const r = await this.#db
      .selectFrom("webhook_subscriptions")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return r ? { ...toSubscription(r), secret: this.#open(r) } : undefined;
  }

  /** Deletes it; true when it existed. */
  async delete(id: string): Promise<boolean> {
    const r = await this.#db
      .deleteFrom("webhook_subscriptions")
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Marks it disabled with `reason` (kept if already disabled); true when it changed. */
  async disable(id: string, reason: string): Promise<boolean> {
    const now = Date.now();
    const r = await this.#db
      .updateTable("webhook_subscriptions")
      .set({ disabled_at: now, disabled_reason: reason.slice(0, 500), updated_at: now })
      .where("id", "=", id)
      .where("disabled_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  #all(): Promise<WebhookSubscriptionsTable[]> {
    return this.#db
      .selectFrom("webhook_subscriptions")
      .selectAll()
      .orderBy("created_at")
      .orderBy("id")
      .execute();
  }

  /** The row's secret in clear, or null. @throws SettingDecryptError */
  #open(r: WebhookSubscriptionsTable): string | null {
    if (!r.secret) return null;
    return Number(r.secret_encrypted) ? decryptSetting(r.secret, this.#key) : r.secret;
  }

  #seal(secret: string): { value: string; encrypted: number } {
    return this.#key
      ? { value: encryptSetting(secret, this.#key), encrypted: 1 }
      : { value: secret, encrypted: 0 };
  }
}
