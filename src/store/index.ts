/**
 * The store: one open database plus its repositories. Functions that take a
 * `Kysely<Database>` work inside a transaction too (pass the transaction).
 */
import type { Kysely, Transaction } from "kysely";
import { ApiKeyRepository } from "./api-keys.ts";
import { BotRepository } from "./bots.ts";
import { type Db, openDatabase } from "./db.ts";
import type { Database } from "./schema.ts";
import { SessionRepository } from "./sessions.ts";

/**
 * A database handle for the function-style repositories: the store's Kysely instance or a
 * transaction of it. Services outside `store/` pass it through without touching SQL.
 */
export type StoreDb = Kysely<Database>;

/** Repositories over one database. */
export class Store {
  readonly db: Db;
  readonly bots: BotRepository;
  readonly sessions: SessionRepository;
  readonly apiKeys: ApiKeyRepository;

  constructor(db: Db) {
    this.db = db;
    this.bots = new BotRepository(db.kysely);
    this.sessions = new SessionRepository(db.kysely);
    this.apiKeys = new ApiKeyRepository(db.kysely);
  }

  /** The Kysely instance (for the function-style repositories). */
  get k(): Kysely<Database> {
    return this.db.kysely;
  }

  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.kysely.transaction().execute(fn);
  }

  /** Opens a database by URL (running migrations) and wraps it. */
  static async open(url: string, opts: Parameters<typeof openDatabase>[1] = {}): Promise<Store> {
    return new Store(await openDatabase(url, opts));
  }

  /** Answers when the database does (a one-row read); throws when it is unreachable. */
  async ping(): Promise<void> {
    await this.db.kysely.selectFrom("bots").select("id").limit(1).execute();
  }

  /** Closes the database. */
  close(): Promise<void> {
    return this.db.close();
  }
}
