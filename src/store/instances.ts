/**
 * Running servers (`instances`): each instance upserts its row at every heartbeat and
 * deletes it on a clean stop; readers keep the rows heard from recently. Times are ms since
 * the epoch, on the writer's clock.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

/** One instance as last reported. */
export interface InstanceRow {
  /** Its owner id, as in its leases (`<hostname>:<pid>:<random>`). */
  id: string;
  version: string;
  hostname: string;
  startedAt: number;
  lastHeartbeatAt: number;
}

/** Repository of `instances`. */
export class InstanceRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Writes (inserts or updates) the row of `row.id`. */
  async beat(row: InstanceRow): Promise<void> {
    const values = {
      id: row.id,
      version: row.version,
      hostname: row.hostname,
      started_at: row.startedAt,
      last_heartbeat_at: row.lastHeartbeatAt,
    };
    await this.#db
      .insertInto("instances")
      .values(values)
      .onConflict((oc) =>
        oc.column("id").doUpdateSet({
          version: row.version,
          hostname: row.hostname,
          last_heartbeat_at: row.lastHeartbeatAt,
        }),
      )
      .execute();
  }

  /** Instances whose last heartbeat is at or after `since`, oldest start first. */
  async live(since: number): Promise<InstanceRow[]> {
    const rows = await this.#db
      .selectFrom("instances")
      .selectAll()
      .where("last_heartbeat_at", ">=", since)
      .orderBy("started_at")
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      id: r.id,
      version: r.version,
      hostname: r.hostname,
      startedAt: Number(r.started_at),
      lastHeartbeatAt: Number(r.last_heartbeat_at),
    }));
  }

  /** Deletes the row of `id` (a clean stop). */
  async remove(id: string): Promise<void> {
    await this.#db.deleteFrom("instances").where("id", "=", id).execute();
  }

  /** Deletes rows not heard from since `before` (dead instances); returns how many. */
  async prune(before: number): Promise<number> {
    const r = await this.#db
      .deleteFrom("instances")
      .where("last_heartbeat_at", "<", before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
