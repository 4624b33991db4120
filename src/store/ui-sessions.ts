/**
 * Admin UI sign-in sessions: a random id lives in the browser's cookie, only its SHA-256
 * here, with the API key it was opened with and when it expires. A copy of the database
 * gives no usable cookie.
 */
import type { Kysely } from "kysely";
import { hashApiKey } from "./api-keys.ts";
import type { Database } from "./schema.ts";

/** A stored UI session (by the hash of its id). */
export interface UiSession {
  keyId: string;
  createdAt: number;
  /** ms since the epoch. */
  expiresAt: number;
}

/** UI session repository. */
export class UiSessionRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Stores a session for `keyId` under the hash of `sessionId`, expiring at `expiresAt` (ms). */
  async create(sessionId: string, keyId: string, expiresAt: number): Promise<void> {
    const now = Date.now();
    // Expired rows go when new ones come, so the table stays the size of the live sessions.
    await this.#db.deleteFrom("ui_sessions").where("expires_at", "<=", now).execute();
    await this.#db
      .insertInto("ui_sessions")
      .values({
        id_hash: hashApiKey(sessionId),
        key_id: keyId,
        created_at: now,
        expires_at: expiresAt,
      })
      .execute();
  }

  /** The unexpired session with this id (at `now`, ms), or undefined. */
  async find(sessionId: string, now = Date.now()): Promise<UiSession | undefined> {
    const r = await this.#db
      .selectFrom("ui_sessions")
      .selectAll()
      .where("id_hash", "=", hashApiKey(sessionId))
      .where("expires_at", ">", now)
      .executeTakeFirst();
    if (!r) return undefined;
    return { keyId: r.key_id, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at) };
  }

  /** Deletes the session with this id (signing out); false when there was none. */
  async delete(sessionId: string): Promise<boolean> {
    const r = await this.#db
      .deleteFrom("ui_sessions")
      .where("id_hash", "=", hashApiKey(sessionId))
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Deletes every session of a key (when it is revoked). */
  async deleteForKey(keyId: string): Promise<void> {
    await this.#db.deleteFrom("ui_sessions").where("key_id", "=", keyId).execute();
  }
}
