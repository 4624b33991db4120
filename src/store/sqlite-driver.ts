/**
 * Adapts Node's built-in `node:sqlite` DatabaseSync to the better-sqlite3 shape that
 * Kysely's SqliteDialect drives (`prepare(sql)` → `{reader, all, run, iterate}`).
 * Prepared statements are cached per SQL text. Booleans are bound as 0/1 and
 * `undefined` as NULL, since node:sqlite accepts neither.
 *
 * {@link FairSqliteDialect} is Kysely's SqliteDialect with a first-come first-served
 * lock on the one connection: Kysely's own wakes every waiter at each release (all but
 * one go back to waiting), which under a few dozen concurrent requests cost more CPU
 * than the queries.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  type DatabaseConnection,
  type Driver,
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
  readonly #lock = new FifoLock();

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
export class FairSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new FairSqliteDriver(this.#config);
  }
}
