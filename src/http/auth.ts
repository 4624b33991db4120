/**
 * API-key authentication: `Authorization: Bearer <key>`. A key is either the static
 * `SWITCHYARD_API_KEY` (every scope) or one stored hashed in the database with its scopes.
 * Missing or unknown key → 401; a key without the route's scope → 403
 * `{"detail": "Missing required scope: X"}`.
 *
 * The admin UI signs in once with a key and then sends the `switchyard_session` cookie
 * instead ({@link ApiKeyAuth.signIn}): the cookie stands for that key, with its scopes, until
 * it expires, is signed out, or the key is revoked. A write (any method but GET/HEAD)
 * carrying the cookie must come from the server's own origin (`Origin`, else
 * `Sec-Fetch-Site: same-origin`), or it is refused 403 — the cross-site request forgery
 * rule (https://owasp.org/www-community/attacks/csrf, "Verifying Origin With Standard
 * Headers"). Requests with a bearer key are not checked: a browser never adds one by itself.
 *
 * Lookups are cached for a few seconds; a key revoked through {@link ApiKeyAuth.revoke}
 * is refused at once on this instance, and on others once their cache entry expires
 * (`cacheMs`). Each use of a stored key updates its `last_used_at`, at most once per
 * `touchEveryMs` per key.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { Scope } from "../sdk/scopes.ts";
import { type ApiKeyRecord, hashApiKey, scopeAllows } from "../store/api-keys.ts";
import type { Store } from "../store/index.ts";
import { HttpError } from "./errors.ts";

/** The id of the record that stands for the static `SWITCHYARD_API_KEY`. */
const STATIC_KEY_ID = "static";

/** The name of the admin UI's session cookie. */
export const UI_SESSION_COOKIE = "switchyard_session";

/** A signed-in admin UI session: the key it stands for and when it ends (ms). */
export interface UiSessionIdentity {
  record: ApiKeyRecord;
  expiresAt: number;
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4), or undefined. */
export function cookieValue(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== "string") return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/**
 * The request's own origin as the browser sees it, `http(s)://<Host>`: what a same-origin
 * page sends in `Origin`.
 */
export function ownOrigin(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? ""}`;
}

/**
 * Refuses a cookie-authenticated write that did not come from a page of this server.
 * @throws HttpError 403 when `Origin` is another origin, or absent and `Sec-Fetch-Site` is
 *   not `same-origin`
 */
export function checkSameOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (typeof origin === "string") {
    if (origin === ownOrigin(req)) return;
    throw new HttpError(403, "Cross-site request refused: Origin is not this server");
  }
  if (req.headers["sec-fetch-site"] === "same-origin") return;
  throw new HttpError(
    403,
    "Cross-site request refused: a write with the session cookie needs an Origin header of this server",
  );
}

const STATIC_RECORD: ApiKeyRecord = {
  id: STATIC_KEY_ID,
  name: "SWITCHYARD_API_KEY",
  scopes: ["admin"],
  createdAt: 0,
};

/** Authenticates requests; caches database lookups for a few seconds. */
export class ApiKeyAuth {
  readonly #store: Store;
  readonly #staticHash: Buffer | null;
  readonly #cache = new Map<string, { record: ApiKeyRecord | null; until: number }>();
  /** UI session lookups by the hash of the cookie's id. */
  readonly #sessions = new Map<string, { session: UiSessionIdentity | null; until: number }>();
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
    if (!m && header === undefined) {
      const session = await this.session(req);
      if (session) {
        if (req.method !== "GET" && req.method !== "HEAD") checkSameOrigin(req);
        await this.#touch(session.record.id);
        return session.record;
      }
    }
    if (!m) throw new HttpError(401, "Missing API key (Authorization: Bearer <key>)");
    const record = await this.#lookup(m[1]!);
    if (!record) throw new HttpError(401, "Invalid API key");
    await this.#touch(record.id);
    return record;
  }

  /**
   * The record of a key (the static one or a stored, unrevoked one), or undefined; for
   * signing in, which exchanges a key for a session.
   */
  async identify(key: string): Promise<ApiKeyRecord | undefined> {
    return (await this.#lookup(key)) ?? undefined;
  }

  /**
   * Opens a UI session for a key already identified, lasting `ttlMs`.
   * @returns the session id for the cookie (256 random bits; only its hash is stored)
   */
  async signIn(record: ApiKeyRecord, ttlMs: number): Promise<{ id: string; expiresAt: number }> {
    const id = randomBytes(32).toString("base64url");
    const expiresAt = Date.now() + ttlMs;
    await this.#store.uiSessions.create(id, record.id, expiresAt);
    return { id, expiresAt };
  }

  /** Ends the UI session with this id (here at once, elsewhere when its cache entry expires). */
  async signOut(id: string): Promise<void> {
    this.#sessions.delete(hashApiKey(id));
    await this.#store.uiSessions.delete(id);
  }

  /**
   * The UI session the request's cookie names, if it is signed in, unexpired and its key
   * not revoked; undefined otherwise (no cookie, unknown, expired).
   */
  async session(req: FastifyRequest): Promise<UiSessionIdentity | undefined> {
    const id = cookieValue(req, UI_SESSION_COOKIE);
    if (!id || id.length > 200) return undefined;
    const hash = hashApiKey(id);
    const now = Date.now();
    const hit = this.#sessions.get(hash);
    if (hit && hit.until > now) {
      return hit.session && hit.session.expiresAt > now ? hit.session : undefined;
    }
    const revocations = this.#revocations;
    const row = await this.#store.uiSessions.find(id, now);
    let session: UiSessionIdentity | null = null;
    if (row) {
      const record =
        row.keyId === STATIC_KEY_ID
          ? this.#staticHash
            ? STATIC_RECORD
            : undefined
          : await this.#store.apiKeys.findById(row.keyId);
      if (record) session = { record, expiresAt: row.expiresAt };
    }
    if (revocations === this.#revocations) {
      if (this.#sessions.size > 1000) this.#sessions.clear();
      this.#sessions.set(hash, { session, until: now + this.#cacheMs });
    }
    return session ?? undefined;
  }

  /**
   * Revokes a stored key and forgets it here at once, so its next request gets 401; its UI
   * sessions end with it.
   * @returns false when no unrevoked key has this id
   */
  async revoke(id: string): Promise<boolean> {
    this.#revocations++;
    const revoked = await this.#store.apiKeys.revoke(id);
    await this.#store.uiSessions.deleteForKey(id);
    this.#revocations++;
    for (const [hash, hit] of this.#cache) if (hit.record?.id === id) this.#cache.delete(hash);
    for (const [hash, hit] of this.#sessions)
      if (hit.session?.record.id === id) this.#sessions.delete(hash);
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
      return STATIC_RECORD;
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
