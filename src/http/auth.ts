/**
 * API-key authentication: `Authorization: Bearer <key>`. A key is either the static
 * `SWITCHYARD_API_KEY` (every scope) or one stored hashed in the database with its scopes.
 * Missing or unknown key → 401; a key without the route's scope → 403
 * `{"detail": "Missing required scope: X"}`.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { Scope } from "../sdk/scopes.ts";
import { type ApiKeyRecord, hashApiKey, scopeAllows } from "../store/api-keys.ts";
import type { Store } from "../store/index.ts";
import { HttpError } from "./errors.ts";

/** Authenticates requests; caches database lookups for a few seconds. */
export class ApiKeyAuth {
  readonly #store: Store;
  readonly #staticHash: Buffer | null;
  readonly #cache = new Map<string, { record: ApiKeyRecord | null; until: number }>();
  readonly #cacheMs: number;

  /**
   * @param staticKey `SWITCHYARD_API_KEY`, granting every scope, or undefined
   * @param cacheMs how long a lookup result is reused (ms); default 5000
   */
  constructor(store: Store, staticKey: string | undefined, cacheMs = 5000) {
    this.#store = store;
    this.#staticHash = staticKey ? Buffer.from(hashApiKey(staticKey), "hex") : null;
    this.#cacheMs = cacheMs;
  }

  /**
   * Checks the request's bearer key for `scope`.
   * @returns the key's record
   * @throws HttpError 401 (no or unknown key) or 403 (scope missing)
   */
  async require(req: FastifyRequest, scope: Scope): Promise<ApiKeyRecord> {
    const header = req.headers.authorization;
    const m = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new HttpError(401, "Missing API key (Authorization: Bearer <key>)");
    const record = await this.#lookup(m[1]!);
    if (!record) throw new HttpError(401, "Invalid API key");
    if (!scopeAllows(record.scopes, scope))
      throw new HttpError(403, `Missing required scope: ${scope}`);
    return record;
  }

  async #lookup(key: string): Promise<ApiKeyRecord | null> {
    const hash = hashApiKey(key);
    if (this.#staticHash && timingSafeEqual(Buffer.from(hash, "hex"), this.#staticHash)) {
      return { id: "static", name: "SWITCHYARD_API_KEY", scopes: ["admin"], createdAt: 0 };
    }
    const now = Date.now();
    const hit = this.#cache.get(hash);
    if (hit && hit.until > now) return hit.record;
    const record = (await this.#store.apiKeys.findByKey(key)) ?? null;
    if (this.#cache.size > 1000) this.#cache.clear();
    this.#cache.set(hash, { record, until: now + this.#cacheMs });
    return record;
  }
}
