/**
 * Adapts Node's built-in `node:sqlite` DatabaseSync to the better-sqlite3 shape that
 * Kysely's SqliteDialect drives (`prepare(sql)` → `{reader, all, run, iterate}`).
 * Prepared statements are cached per SQL text. Booleans are bound as 0/1 and
 * `undefined` as NULL, since node:sqlite accepts neither.
 *
 * {@link openSqliteDialect} gives Kysely's SqliteDialect with a first-come first-served
 * lock on the one connection (Kysely's own wakes every waiter at each release, all but one
 * go back to waiting, which under a few dozen concurrent requests cost more CPU than the
 * queries), and {@link SqliteDirect}: the same connection and statement cache for queries
 * compiled once (./compiled.ts), run at once without Kysely's executor when that is safe.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  type SqliteStatement,
} from "kysely";

type Bindable = null | number | bigint | string | Uint8Array;

function bind(params: ReadonlyArray<unknown>): Bindable[] {
  return params.map((p) => {
    if (p === undefined) return null;
    if (typeof p === "boolean") return p ? 1 : 0;
    return p as Bindable;
  });
}

class CachedStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #stmt: StatementSync;
  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
    this.reader = stmt.columns().length > 0;
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#stmt.all(...bind(parameters));
  }
  run(parameters: ReadonlyArray<unknown>) {
    const r = this.#stmt.run(...bind(parameters));
    return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
  }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#stmt.iterate(...bind(parameters)) as IterableIterator<unknown>;
  }
}

/**
 * Opens (creating the directory and file when needed) a SQLite database in WAL mode
 * with a busy timeout, so several processes can share the file.
 * @param path file path, or `:memory:`
 * @param busyTimeoutMs how long a writer waits for a lock before SQLITE_BUSY (ms)
 */
export function openSqlite(path: string, busyTimeoutMs = 5000): SqliteDatabase {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
  const cache = new Map<string, CachedStatement>();
  return {
    prepare(sql: string): SqliteStatement {
      // Kysely opens transactions with a plain BEGIN; take the write lock up front so a
      // transaction never fails to upgrade from reader to writer under a second process.
      if (sql === "begin") sql = "begin immediate";
      let s = cache.get(sql);
      if (!s) {
        s = new CachedStatement(db.prepare(sql));
        if (cache.size > 500) cache.delete(cache.keys().next().value as string);
        cache.set(sql, s);
      }
      return s;
    },
    close() {
      cache.clear();
      if (db.isOpen) db.close();
    },
  };
}

/** A lock handed to waiters in arrival order. */
class FifoLock {
  #held = false;
  readonly #waiters: Array<() => void> = [];

  /** True while someone holds it. */
  get held(): boolean {
    return this.#held;
  }

  lock(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  unlock(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  }
}

/** Kysely's SQLite driver behind a {@link FifoLock} (one holder of the connection at a time). */
class FairSqliteDriver extends SqliteDriver {
  readonly #lock: FifoLock;

  constructor(config: SqliteDialectConfig, lock: FifoLock) {
    super(config);
    this.#lock = lock;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    await this.#lock.lock();
    // Uncontended now: only the holder of #lock gets here.
    return super.acquireConnection();
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    this.#lock.unlock();
  }
}

/** Kysely's SqliteDialect with {@link FairSqliteDriver}. */
class FairSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #lock: FifoLock;

  constructor(config: SqliteDialectConfig, lock: FifoLock) {
    super(config);
    this.#config = config;
    this.#lock = lock;
  }

  override createDriver(): Driver {
    return new FairSqliteDriver(this.#config, this.#lock);
  }
}

/**
 * Runs a statement on the one SQLite connection at once, without Kysely's executor (its
 * promise hops cost several times the statement's own CPU). Results are shaped like
 * Kysely's (`rows`, `numAffectedRows`).
 */
export interface SqliteDirect {
  /**
   * Runs it now when no one holds the connection (no transaction is open): node:sqlite is
   * synchronous, so nothing can take the connection meanwhile. Undefined when it is held:
   * go through Kysely, which waits in line.
   */
  whenFree(sql: string, parameters: readonly unknown[]): QueryResult<unknown> | undefined;
  /** Runs it now; only for code inside the transaction that holds the connection. */
  held(sql: string, parameters: readonly unknown[]): QueryResult<unknown>;
}

/**
 * Opens the database file (see {@link openSqlite}) for Kysely and for direct statements.
 * @returns the dialect to build Kysely with, and the direct runner over the same connection
 */
export function openSqliteDialect(path: string): { dialect: SqliteDialect; direct: SqliteDirect } {
  const database = openSqlite(path);
  const lock = new FifoLock();
  const held = (sql: string, parameters: readonly unknown[]): QueryResult<unknown> => {
    const stmt = database.prepare(sql);
    if (stmt.reader) return { rows: stmt.all(parameters) };
    const { changes } = stmt.run(parameters);
    return { rows: [], numAffectedRows: BigInt(changes) };
  };
  return {
    dialect: new FairSqliteDialect({ database }, lock),
    direct: {
      whenFree: (sql, parameters) => (lock.held ? undefined : held(sql, parameters)),
      held,
    },
  };
}
