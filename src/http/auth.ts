/**
 * API-key authentication: `Authorization: Bearer <key>`. A key is either the static
 * `SWITCHYARD_API_KEY` (every scope) or one stored hashed in the database with its scopes.
 * Missing or unknown key → 401; a key without the route's scope → 403
 * `{"detail": "Missing required scope: X"}`.
 *
 * Lookups are cached for a few seconds; a key revoked through {@link ApiKeyAuth.revoke}
 * is refused at once on this instance, and on others once their cache entry expires
 * (`cacheMs`). Each use of a stored key updates its `last_used_at`, at most once per
 * `touchEveryMs` per key.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { Scope } from "../sdk/scopes.ts";
import { type ApiKeyRecord, hashApiKey, scopeAllows } from "../store/api-keys.ts";
import type { Store } from "../store/index.ts";
import { HttpError } from "./errors.ts";

/** The id of the record that stands for the static `SWITCHYARD_API_KEY`. */
const STATIC_KEY_ID = "static";

/** Authenticates requests; caches database lookups for a few seconds. */
export class ApiKeyAuth {
  readonly #store: Store;
  readonly #staticHash: Buffer | null;
  readonly #cache = new Map<string, { record: ApiKeyRecord | null; until: number }>();
  readonly #cacheMs: number;
  /** When this instance last wrote each key's last_used_at (ms). */
  readonly #touched = new Map<string, number>();
  readonly #touchEveryMs: number;
  /** Revocations so far, so that a lookup overtaken by one does not cache its answer. */
  #revocations = 0;

  /**
   * @param staticKey `SWITCHYARD_API_KEY`, granting every scope, or undefined
   * @param cacheMs how long a lookup result is reused (ms); default 5000
   * @param touchEveryMs least time between two writes of a key's last_used_at (ms); default 60000
   */
  constructor(store: Store, staticKey: string | undefined, cacheMs = 5000, touchEveryMs = 60_000) {
    this.#store = store;
    this.#staticHash = staticKey ? Buffer.from(hashApiKey(staticKey), "hex") : null;
    this.#cacheMs = cacheMs;
    this.#touchEveryMs = touchEveryMs;
  }

  /**
   * Checks the request's bearer key for `scope`.
   * @returns the key's record
   * @throws HttpError 401 (no or unknown key) or 403 (scope missing)
   */
  async require(req: FastifyRequest, scope: Scope): Promise<ApiKeyRecord> {
    const record = await this.authenticate(req);
    if (!scopeAllows(record.scopes, scope))
      throw new HttpError(403, `Missing required scope: ${scope}`);
    return record;
  }

  /**
   * Checks that the request carries a valid key, whatever its scopes (for a door such as
   * MCP whose tools check their own scopes).
   * @returns the key's record
   * @throws HttpError 401 (no or unknown key)
   */
  async authenticate(req: FastifyRequest): Promise<ApiKeyRecord> {
    const header = req.headers.authorization;
    const m = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new HttpError(401, "Missing API key (Authorization: Bearer <key>)");
    const record = await this.#lookup(m[1]!);
    if (!record) throw new HttpError(401, "Invalid API key");
    await this.#touch(record.id);
    return record;
  }

  /**
   * Revokes a stored key and forgets it here at once, so its next request gets 401.
   * @returns false when no unrevoked key has this id
   */
  async revoke(id: string): Promise<boolean> {
    this.#revocations++;
    const revoked = await this.#store.apiKeys.revoke(id);
    this.#revocations++;
    for (const [hash, hit] of this.#cache) if (hit.record?.id === id) this.#cache.delete(hash);
    this.#touched.delete(id);
    return revoked;
  }

  /** Writes last_used_at at most once per `touchEveryMs` per key; a failed write is ignored. */
  async #touch(id: string): Promise<void> {
    if (id === STATIC_KEY_ID) return;
    const now = Date.now();
    const last = this.#touched.get(id);
    if (last !== undefined && now - last < this.#touchEveryMs) return;
    if (this.#touched.size > 1000) this.#touched.clear();
    this.#touched.set(id, now);
    await this.#store.apiKeys.touch(id, now, this.#touchEveryMs).catch(() => {});
  }

  async #lookup(key: string): Promise<ApiKeyRecord | null> {
    const hash = hashApiKey(key);
    if (this.#staticHash && timingSafeEqual(Buffer.from(hash, "hex"), this.#staticHash)) {
      return { id: STATIC_KEY_ID, name: "SWITCHYARD_API_KEY", scopes: ["admin"], createdAt: 0 };
    }
    const now = Date.now();
    const hit = this.#cache.get(hash);
    if (hit && hit.until > now) return hit.record;
    const revocations = this.#revocations;
    const record = (await this.#store.apiKeys.findByKey(key)) ?? null;
    // A revocation during the read may have come after it: use the answer once, cache it not.
    if (revocations !== this.#revocations) return record;
    if (this.#cache.size > 1000) this.#cache.clear();
    this.#cache.set(hash, { record, until: now + this.#cacheMs });
    return record;
  }
}
