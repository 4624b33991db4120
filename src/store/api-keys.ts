/**
 * API keys. A key is shown once when created; only its SHA-256 is stored, so a copy of
 * the database gives no usable key.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import { SCOPES, type Scope } from "../sdk/scopes.ts";
import { fromJson } from "./json.ts";
import type { Database } from "./schema.ts";

export { SCOPES, type Scope };

/** A key's stored record (never the key itself). */
export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: number;
}

/** A key as listed: its record and when it was last used (ms; throttled, see `touch`). */
export interface ApiKeyListing extends ApiKeyRecord {
  lastUsedAt: number | null;
}

/** SHA-256 hex of a key; what the store keeps. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** A new random key: `sy_` + 32 bytes base64url (256 bits). */
export function generateApiKey(): string {
  return `sy_${randomBytes(32).toString("base64url")}`;
}

/** True when `granted` covers `required` (`admin` covers all; `X:write` covers `X:read`). */
export function scopeAllows(granted: readonly string[], required: Scope): boolean {
  if (granted.includes("admin") || granted.includes(required)) return true;
  if (required.endsWith(":read")) return granted.includes(required.replace(/:read$/, ":write"));
  return false;
}

/** API key repository. */
export class ApiKeyRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Stores a key's hash with its scopes. When `key` is omitted a new one is generated.
   * @returns the record and the key in clear text (to be shown once)
   */
  async create(
    name: string,
    scopes: Scope[],
    key = generateApiKey(),
  ): Promise<{ record: ApiKeyRecord; key: string }> {
    const record: ApiKeyRecord = { id: uuidv7(), name, scopes, createdAt: Date.now() };
    await this.#db
      .insertInto("api_keys")
      .values({
        id: record.id,
        name,
        key_hash: hashApiKey(key),
        scopes: JSON.stringify(scopes),
        created_at: record.createdAt,
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    return { record, key };
  }

  /** The record of an unrevoked key, or undefined. */
  async findByKey(key: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.#db
      .selectFrom("api_keys")
      .selectAll()
      .where("key_hash", "=", hashApiKey(key))
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      id: r.id,
      name: r.name,
      scopes: fromJson(r.scopes, []),
      createdAt: Number(r.created_at),
    };
  }

  /** The record of an unrevoked key by its id, or undefined. */
  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.#db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      id: r.id,
      name: r.name,
      scopes: fromJson(r.scopes, []),
      createdAt: Number(r.created_at),
    };
  }

  /** Every unrevoked key, oldest first (never the key or its hash). */
  async list(): Promise<ApiKeyListing[]> {
    const rows = await this.#db
      .selectFrom("api_keys")
      .select(["id", "name", "scopes", "created_at", "last_used_at"])
      .where("revoked_at", "is", null)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      scopes: fromJson(r.scopes, []),
      createdAt: Number(r.created_at),
      lastUsedAt: r.last_used_at == null ? null : Number(r.last_used_at),
    }));
  }

  /**
   * Revokes an unrevoked key by id.
   * @returns false when no unrevoked key has this id
   */
  async revoke(id: string): Promise<boolean> {
    const r = await this.#db
      .updateTable("api_keys")
      .set({ revoked_at: Date.now() })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Records a use of the key at `now` (ms) unless one was recorded less than `everyMs`
   * before, so that a busy key costs one write per `everyMs`, not one per request, even
   * across instances.
   */
  async touch(id: string, now: number, everyMs: number): Promise<void> {
    await this.#db
      .updateTable("api_keys")
      .set({ last_used_at: now })
      .where("id", "=", id)
      .where((eb) =>
        eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<=", now - everyMs)]),
      )
      .execute();
  }

  /** True when any unrevoked key has this name. */
  async existsNamed(name: string): Promise<boolean> {
    const r = await this.#db
      .selectFrom("api_keys")
      .select("id")
      .where("name", "=", name)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return r !== undefined;
  }
}
