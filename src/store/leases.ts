/**
 * Named leases (`leases`): at most one holder of a name at a time. A holder takes a lease
 * that is free, expired or already its own in ONE statement (`INSERT … ON CONFLICT (name)
 * DO UPDATE … WHERE expired OR mine`, valid on SQLite and PostgreSQL), so two instances
 * racing for it cannot both win; it keeps it by taking it again before it expires, and
 * gives it up by deleting its row. Times are the caller's clock, in ms since the epoch.
 * The run-it-on-one-instance service over this is `src/leases/exclusive.ts`.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "./schema.ts";

/** Who holds a lease, and until when (ms since the epoch). */
export interface LeaseRow {
  name: string;
  holder: string;
  expiresAt: number;
  acquiredAt: number;
}

/** Repository of `leases`. */
export class LeaseRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Takes or renews lease `name` for `holder` until `now + ttlMs`: succeeds when nobody
   * holds it, its holder's time ran out (`expires_at <= now`), or `holder` holds it.
   * @returns true when `holder` holds it now
   */
  async acquire(name: string, holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const expiresAt = now + ttlMs;
    const rows = await this.#db
      .insertInto("leases")
      .values({ name, holder, expires_at: expiresAt, acquired_at: now })
      .onConflict((oc) =>
        oc
          .column("name")
          .doUpdateSet({
            holder,
            expires_at: expiresAt,
            // A renewal keeps its first acquisition time; a takeover starts a new one.
            acquired_at: sql<number>`CASE WHEN leases.holder = ${holder} THEN leases.acquired_at ELSE ${now} END`,
          })
          .where((eb) =>
            eb.or([eb("leases.expires_at", "<=", now), eb("leases.holder", "=", holder)]),
          ),
      )
      .returning("holder")
      .execute();
    return rows.length === 1 && rows[0]!.holder === holder;
  }

  /**
   * Gives lease `name` up when `holder` holds it (a later {@link acquire} by anyone
   * succeeds at once).
   * @returns true when a lease of `holder` was released
   */
  async release(name: string, holder: string): Promise<boolean> {
    const r = await this.#db
      .deleteFrom("leases")
      .where("name", "=", name)
      .where("holder", "=", holder)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Every lease not expired at `now` (ms), by name. */
  async live(now = Date.now()): Promise<LeaseRow[]> {
    const rows = await this.#db
      .selectFrom("leases")
      .selectAll()
      .where("expires_at", ">", now)
      .orderBy("name")
      .execute();
    return rows.map((r) => ({
      name: r.name,
      holder: r.holder,
      expiresAt: Number(r.expires_at),
      acquiredAt: Number(r.acquired_at),
    }));
  }

  /** The row of lease `name` (expired or not), or undefined. */
  async get(name: string): Promise<LeaseRow | undefined> {
    const r = await this.#db
      .selectFrom("leases")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return r
      ? {
          name: r.name,
          holder: r.holder,
          expiresAt: Number(r.expires_at),
          acquiredAt: Number(r.acquired_at),
        }
      : undefined;
  }
}
