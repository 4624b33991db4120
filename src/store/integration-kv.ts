/**
 * The per-integration key → JSON value store behind `ctx.state` (`integration_kv`): small
 * durable values an integration keeps between runs and across instances (a polling
 * offset, a cursor). Last write wins; a value is at most {@link MAX_STATE_VALUE_BYTES}.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

/** Longest key, in characters. */
export const MAX_STATE_KEY_CHARS = 200;

/** Largest stored value, as JSON text, in bytes (UTF-8). */
export const MAX_STATE_VALUE_BYTES = 64 * 1024;

/** Thrown for a key or value the store refuses (too long, not JSON). */
export class InvalidStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidStateError";
  }
}

/** Repository of `integration_kv`. */
export class IntegrationKvRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The value stored under (`integration`, `key`), or undefined when none is. */
  async get(integration: string, key: string): Promise<unknown | undefined> {
    const r = await this.#db
      .selectFrom("integration_kv")
      .select("value")
      .where("integration", "=", integration)
      .where("key", "=", key)
      .executeTakeFirst();
    if (!r) return undefined;
    try {
      return JSON.parse(r.value) as unknown;
    } catch {
      return undefined;
    }
  }

  /**
   * Stores `value` (any JSON value) under (`integration`, `key`), replacing what was there;
   * `undefined` deletes it.
   * @throws InvalidStateError for an empty or too long key, a value JSON cannot write, or
   *   one over 64 KiB as JSON
   */
  async set(integration: string, key: string, value: unknown): Promise<void> {
    if (typeof key !== "string" || key.length === 0 || key.length > MAX_STATE_KEY_CHARS) {
      throw new InvalidStateError(`state key must be 1–${MAX_STATE_KEY_CHARS} characters`);
    }
    if (value === undefined) {
      await this.#db
        .deleteFrom("integration_kv")
        .where("integration", "=", integration)
        .where("key", "=", key)
        .execute();
      return;
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (err) {
      throw new InvalidStateError(`state value is not JSON: ${(err as Error).message}`);
    }
    if (json === undefined) throw new InvalidStateError("state value is not JSON");
    if (Buffer.byteLength(json) > MAX_STATE_VALUE_BYTES) {
      throw new InvalidStateError(`state value is over ${MAX_STATE_VALUE_BYTES} bytes as JSON`);
    }
    const now = Date.now();
    await this.#db
      .insertInto("integration_kv")
      .values({ integration, key, value: json, updated_at: now })
      .onConflict((oc) =>
        oc.columns(["integration", "key"]).doUpdateSet({ value: json, updated_at: now }),
      )
      .execute();
  }
}
