/**
 * Named settings documents in `integrations_state` (`git_auto_commit`…): a JSON value with
 * a version that grows by one on every write and the time of that write. Writes are
 * compare-and-set on the version, so several processes sharing one database never lose
 * an update: a writer that raced another one reads again and re-applies its change.
 */
import type { Kysely } from "kysely";
import { fromJson } from "./json.ts";
import type { Database } from "./schema.ts";

/** One stored document. `updatedAt` in ms since the epoch. */
export interface StateDoc<T> {
  value: T;
  /** 1 after the first write, +1 per later write. */
  version: number;
  updatedAt: number;
}

/** Thrown by {@link StateDocRepository.update} when it lost the race `attempts` times in a row. */
export class StateConflictError extends Error {
  constructor(key: string, attempts: number) {
    super(`integrations_state "${key}" changed concurrently ${attempts} times; try again`);
    this.name = "StateConflictError";
  }
}

/** Named settings documents (`integrations_state`). */
export class StateDocRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The document stored under `key`, or undefined when none was ever written. */
  async get<T>(key: string): Promise<StateDoc<T> | undefined> {
    const r = await this.#db
      .selectFrom("integrations_state")
      .selectAll()
      .where("key", "=", key)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      value: fromJson<T>(r.value, undefined as T),
      version: Number(r.version),
      updatedAt: Number(r.updated_at),
    };
  }

  /**
   * Read-modify-write of the document under `key`: `change` gets the current value
   * (undefined when none) and returns the new one; it is written only if nobody wrote in
   * between (version check), else the read and `change` run again. `change` may throw to
   * refuse (nothing is written); it must not have side effects, since it may run more than
   * once.
   * @param attempts tries before giving up (default 10)
   * @returns the document as written
   * @throws StateConflictError after `attempts` lost races; whatever `change` throws
   */
  async update<T>(
    key: string,
    change: (current: T | undefined) => T,
    attempts = 10,
  ): Promise<StateDoc<T>> {
    for (let i = 0; i < attempts; i++) {
      const cur = await this.get<T>(key);
      const value = change(cur?.value);
      const now = Date.now();
      // Never move updated_at backwards when another instance's clock is ahead.
      const updatedAt = Math.max(now, (cur?.updatedAt ?? 0) + 1);
      if (!cur) {
        const r = await this.#db
          .insertInto("integrations_state")
          .values({ key, value: JSON.stringify(value), version: 1, updated_at: updatedAt })
          .onConflict((oc) => oc.column("key").doNothing())
          .executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) {
          return { value, version: 1, updatedAt };
        }
        continue;
      }
      const r = await this.#db
        .updateTable("integrations_state")
        .set({ value: JSON.stringify(value), version: cur.version + 1, updated_at: updatedAt })
        .where("key", "=", key)
        .where("version", "=", cur.version)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) > 0) return { value, version: cur.version + 1, updatedAt };
    }
    throw new StateConflictError(key, attempts);
  }

  /**
   * Sum of every document's version and the latest `updated_at` (ms, 0 when empty): a
   * number that grows with every settings write, for the state's `version`.
   */
  async summary(): Promise<{ versionSum: number; updatedAt: number }> {
    const r = await this.#db
      .selectFrom("integrations_state")
      .select((eb) => [
        eb.fn.coalesce(eb.fn.sum<number>("version"), eb.lit(0)).as("v"),
        eb.fn.coalesce(eb.fn.max<number>("updated_at"), eb.lit(0)).as("t"),
      ])
      .executeTakeFirst();
    return { versionSum: Number(r?.v ?? 0), updatedAt: Number(r?.t ?? 0) };
  }
}
