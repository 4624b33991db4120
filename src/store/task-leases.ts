/**
 * The task queue's lease queries: atomic claims with a lease, renewal, release of a lease
 * on shutdown, and expiry of leases whose worker stopped renewing them. A lease is held
 * under a token (`<owner>#<n>`, one per claim, see `src/tasks/worker.ts`); every time is in
 * ms since the epoch. Inserts, listings and final states are in `./tasks.ts`.
 */
import { type Kysely, sql } from "kysely";
import type { Dialect } from "./db.ts";
import type { Database, TasksTable } from "./schema.ts";
import { type Task, toTask } from "./tasks.ts";

/** Leases on tasks (`store.taskLeases`). */
export class TaskLeaseRepository {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  /**
   * Atomically claims up to `limit` runnable tasks for `owner`: pending, due, the oldest
   * pending task of its session, and no task of that session running or waiting for an
   * approval (its later messages wait for the decision, so turns stay in order). One statement, so
   * two claimers never get the same task; on PostgreSQL rows locked by another claimer are
   * skipped (`FOR UPDATE SKIP LOCKED`). Each claimed task gets `attempts + 1` and a lease
   * until `now + leaseMs`. Returned oldest first.
   */
  async claim(owner: string, limit: number, leaseMs: number): Promise<Task[]> {
    const now = Date.now();
    const lock = this.#dialect === "postgres" ? sql`FOR UPDATE OF t SKIP LOCKED` : sql``;
    // Each session's oldest pending task (an index-only scan of (status, session_id, id)),
    // kept when it is due and nothing of its session runs.
    // The candidates are materialised once: as a plain `IN (subquery … LIMIT)` PostgreSQL
    // may re-run the subquery per row and claim more than `limit`.
    const res = await sql<TasksTable>`
      WITH claim AS MATERIALIZED (
        SELECT t.id FROM (
          SELECT MIN(id) AS id, session_id FROM tasks WHERE status = 'pending' GROUP BY session_id
        ) h
        JOIN tasks t ON t.id = h.id
        -- Repeated on t: PostgreSQL re-checks a locked row's own conditions against its latest
        -- version, so a task another claimer took meanwhile is dropped here, not claimed twice.
        WHERE t.status = 'pending' AND t.run_at <= ${now}
          AND NOT EXISTS (SELECT 1 FROM tasks r
            WHERE r.status IN ('running', 'waiting_approval') AND r.session_id = h.session_id)
        ORDER BY t.id
        LIMIT ${limit}
        ${lock}
      )
      UPDATE tasks SET status = 'running', lease_owner = ${owner},
        lease_expires_at = ${now + leaseMs}, attempts = attempts + 1, started_at = ${now}
      WHERE status = 'pending' AND id IN (SELECT id FROM claim)
      RETURNING *`.execute(this.#db);
    return res.rows.map(toTask).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /**
   * Extends the leases held under the given lease tokens (one per claim, shared by every
   * task of that claim) of tasks still running. Returns the ids of the tasks renewed: a task
   * missing from the answer lost its lease (cancelled, finished or taken over) and its run
   * should stop, even when another task of the same claim still holds the token.
   */
  async renewLeases(tokens: string[], leaseMs: number): Promise<string[]> {
    if (tokens.length === 0) return [];
    const rows = await this.#db
      .updateTable("tasks")
      .set({ lease_expires_at: Date.now() + leaseMs })
      .where("lease_owner", "in", [...new Set(tokens)])
      .where("status", "=", "running")
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * The lease token (`<owner>#<n>`, see TaskWorker) of every running task, one entry per
   * task: counting them by owner gives each instance's running tasks.
   */
  async runningLeaseOwners(): Promise<string[]> {
    const rows = await this.#db
      .selectFrom("tasks")
      .select("lease_owner")
      .where("status", "=", "running")
      .where("lease_owner", "is not", null)
      .execute();
    return rows.map((r) => r.lease_owner!);
  }

  /**
   * Gives a running task back to the queue without counting the attempt (used on a clean
   * shutdown). True when the task was still `owner`'s.
   */
  async release(id: string, owner: string): Promise<boolean> {
    const r = await this.#db
      .updateTable("tasks")
      .set((eb) => ({
        status: "pending",
        lease_owner: null,
        lease_expires_at: null,
        attempts: eb("attempts", "-", 1),
      }))
      .where("id", "=", id)
      .where("status", "=", "running")
      .where("lease_owner", "=", owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Running tasks whose lease ran out (their worker died). Those with attempts left go back
   * to `pending` here; the ones returned have used every attempt and must be failed by the
   * caller (which also writes their delivery).
   */
  async requeueExpired(): Promise<Task[]> {
    return (await this.reapExpired()).exhausted;
  }

  /**
   * {@link requeueExpired}, also saying how many tasks went back to `pending` (so a worker
   * knows whether to look for work again at once).
   */
  async reapExpired(): Promise<{ requeued: number; exhausted: Task[] }> {
    const now = Date.now();
    const r = await this.#db
      .updateTable("tasks")
      .set({ status: "pending", lease_owner: null, lease_expires_at: null })
      .where("status", "=", "running")
      .where("lease_expires_at", "<", now)
      .whereRef("attempts", "<", "max_attempts")
      .executeTakeFirst();
    const rows = await this.#db
      .selectFrom("tasks")
      .selectAll()
      .where("status", "=", "running")
      .where("lease_expires_at", "<", now)
      .whereRef("attempts", ">=", "max_attempts")
      .execute();
    return { requeued: Number(r.numUpdatedRows), exhausted: rows.map(toTask) };
  }
}
