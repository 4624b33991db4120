/**
 * Opens the database named by a URL: `sqlite:<path>` (node:sqlite, WAL) or
 * `postgres://…` (pg pool). Both are driven through one Kysely instance, so every
 * repository works on both.
 */
import { Kysely, PostgresDialect } from "kysely";
import type pg from "pg";
import { migrateToLatest } from "./migrations.ts";
import type { Database } from "./schema.ts";
import { openSqliteDialect, type SqliteDirect } from "./sqlite-driver.ts";

/** Which SQL dialect a {@link Db} speaks. */
export type Dialect = "sqlite" | "postgres";

/** An open database: the Kysely instance, its dialect and a way to close it. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** Closes the pool or file; idempotent. */
  close(): Promise<void>;
  /**
   * PostgreSQL only: a new connection outside the pool (not yet connected), with the pool's
   * type parsers; for a dedicated `LISTEN` connection (`wake-channel.ts`).
   */
  newClient?: (applicationName?: string) => pg.Client;
  /** SQLite only: statements run at once on the one connection (./compiled.ts). */
  sqliteDirect?: SqliteDirect;
}

const INT8_OID = 20;

/** Connections a PostgreSQL pool keeps open however quiet the server is. */
const POOL_MIN_IDLE = 4;
/** How long a pool connection above {@link POOL_MIN_IDLE} may sit idle before it is closed (ms). */
const POOL_IDLE_MS = 60_000;

/**
 * Opens the database and runs migrations.
 * @param url `sqlite:<absolute path>`, `sqlite::memory:` or `postgres://…`
 * @param opts.poolSize PostgreSQL pool size (default 20)
 * @param opts.onPoolError told when PostgreSQL drops an idle connection (restart, failover);
 *   the pool replaces it, so this is for logging. Default: one line on stderr.
 * @throws Error when the database cannot be reached or a migration fails
 */
export async function openDatabase(
  url: string,
  opts: { poolSize?: number; onPoolError?: (err: Error) => void } = {},
): Promise<Db> {
  let kysely: Kysely<Database>;
  let dialect: Dialect;
  let newClient: Db["newClient"];
  let sqliteDirect: SqliteDirect | undefined;
  if (url.startsWith("sqlite:")) {
    dialect = "sqlite";
    const sqlite = openSqliteDialect(url.slice("sqlite:".length));
    sqliteDirect = sqlite.direct;
    kysely = new Kysely<Database>({ dialect: sqlite.dialect });
  } else {
    dialect = "postgres";
    // Imported here: a server on SQLite never loads the PostgreSQL driver.
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 20,
      // Keep a few connections through quiet spells: after 10 s idle (pg's default) every
      // connection was closed, and the first burst after a pause paid for new backends
      // (bench/ingest: p99 ~300 ms at 200 requests/s right after 10 s idle).
      min: Math.min(POOL_MIN_IDLE, opts.poolSize ?? 20),
      idleTimeoutMillis: POOL_IDLE_MS,
      // Times are bigint milliseconds; they fit in a JS number, so read them as numbers.
      types: {
        getTypeParser: ((oid: number, format?: "text" | "binary") =>
          oid === INT8_OID
            ? (v: string) => Number(v)
            : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
      },
    });
    // Without a listener, an idle connection ended by the server would crash the process.
    pool.on("error", (err) => {
      if (opts.onPoolError) opts.onPoolError(err);
      else process.stderr.write(`switchyard: database connection lost: ${err.message}\n`);
    });
    kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    newClient = (applicationName) =>
      new pg.Client({ connectionString: url, keepAlive: true, application_name: applicationName });
  }
  let closed = false;
  const db: Db = {
    kysely,
    dialect,
    newClient,
    ...(sqliteDirect ? { sqliteDirect } : {}),
    async close() {
      if (closed) return;
      closed = true;
      await kysely.destroy();
    },
  };
  try {
    await migrateToLatest(kysely);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
