/**
 * The store: one open database and one repository per table group (DESIGN §2 `store/`).
 * Every repository is a class in its own module, built over a database handle (the
 * database, or one transaction of it) and whatever else it needs (the dialect, the secret
 * key, a shared cache). {@link Store} holds one of each over the database;
 * {@link Store.transaction} hands the same set bound to one transaction:
 *
 *   await store.transaction(async (tx) => {
 *     const m = await tx.messages.insert(…);
 *     await tx.tasks.insert({ messageId: m.id, … });
 *   });
 *
 * The repositories themselves, one getter each, are ./repositories.ts. Nothing outside
 * `store/` names Kysely or writes SQL.
 */
import type { Transaction } from "kysely";
import { BotCache, type BotReads, type TransactionBotReads } from "./bots.ts";
import type { QueryHandle } from "./compiled.ts";
import { type Db, openDatabase } from "./db.ts";
import { type BulkWork, GroupCommit, type GroupCommitStats } from "./group-commit.ts";
import { Repositories, type RepositoryShared } from "./repositories.ts";
import type { Database } from "./schema.ts";
import { openWakeChannel, type WakeChannel, type WakeChannelOptions } from "./wake-channel.ts";

export { Repositories } from "./repositories.ts";

/** Group-commit batches in flight at once on PostgreSQL (SQLite: 1, writers are serial). */
const GROUP_COMMIT_PG_IN_FLIGHT = 2;

/** Options of a {@link Store}. */
export interface StoreOptions {
  /** `SWITCHYARD_SECRET_KEY`: stored secrets are encrypted at rest when given. */
  secretKey?: string;
  /**
   * This instance's clock (ms since epoch) for message times and ids; default `Date.now`.
   * Tests skew it to play instances whose clocks disagree; order never depends on it.
   */
  clock?: () => number;
}

/** One open database and its repositories. */
export class Store extends Repositories {
  /**
   * The open database. Its Kysely instance is for `store/` itself and for tests that
   * arrange or inspect raw rows; services use the repositories.
   */
  readonly db: Db;
  readonly #shared: RepositoryShared;
  readonly #group: GroupCommit;

  constructor(db: Db, opts: StoreOptions = {}) {
    const shared: RepositoryShared = {
      dialect: db.dialect,
      secretKey: opts.secretKey,
      bots: new BotCache(),
      clock: opts.clock,
      direct: db.sqliteDirect,
    };
    super(db.kysely, shared);
    this.db = db;
    this.#shared = shared;
    this.#group = new GroupCommit((fn) => this.transaction(fn), {
      maxInFlight: db.dialect === "postgres" ? GROUP_COMMIT_PG_IN_FLIGHT : 1,
      ...(db.dialect === "postgres" ? { retryAlone: isDeadlock } : {}),
    });
  }

  /**
   * Runs `fn` in one transaction with the repositories bound to it; commits when `fn`
   * resolves, rolls back when it throws (and rethrows). Writes that must be part of it go
   * through `tx`, not through the store.
   */
  async transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T> {
    let tx: TransactionRepositories | undefined;
    try {
      const out = await this.db.kysely.transaction().execute((trx) => {
        tx = new TransactionRepositories(trx, this.#shared);
        return fn(tx);
      });
      tx?.committed();
      return out;
    } finally {
      tx?.ended();
    }
  }

  /**
   * Like {@link transaction}, but shared with the other calls queued in the same
   * event-loop turn (group commit, ./group-commit.ts): resolves once that transaction
   * committed; `fn` must write only through `tx` and may run twice (alone, after a
   * neighbour failed). Inbound messages use {@link groupBulk}.
   */
  groupTransaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T> {
    return this.#group.run(fn);
  }

  /**
   * Like {@link groupTransaction}, for one input of a bulk work (./group-commit.ts): the
   * inputs of `bulk` queued in the same turn are written by one call of it, in the shared
   * transaction; resolves with this input's result once that committed.
   */
  groupBulk<I, O>(bulk: BulkWork<I, O>, input: I): Promise<O> {
    return this.#group.runBulk(bulk, input);
  }

  /** How group commit has batched so far (tests, benchmarks). */
  get groupCommitStats(): GroupCommitStats {
    return this.#group.stats;
  }

  /** Opens a database by URL (running migrations) and wraps it. */
  static async open(
    url: string,
    opts: Parameters<typeof openDatabase>[1] & StoreOptions = {},
  ): Promise<Store> {
    return new Store(await openDatabase(url, opts), opts);
  }

  /** Answers when the database does (a one-row read); throws when it is unreachable. */
  async ping(): Promise<void> {
    await this.db.kysely.selectFrom("bots").select("id").limit(1).execute();
  }

  /**
   * The wake-up channel between instances on this database (`LISTEN`/`NOTIFY` on
   * PostgreSQL, a local no-op on SQLite); one per instance, started by its owner.
   */
  wakeChannel(opts?: WakeChannelOptions): WakeChannel {
    return openWakeChannel(this.db, opts);
  }

  /** Closes the database. */
  close(): Promise<void> {
    return this.db.close();
  }
}

/** PostgreSQL's "deadlock detected" (SQLSTATE 40P01): only that transaction was aborted. */
function isDeadlock(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "40P01";
}

/** The repositories of one transaction. */
class TransactionRepositories extends Repositories {
  #botReads: TransactionBotReads | undefined;
  readonly #trx: Transaction<Database>;
  readonly #shared: RepositoryShared;
  #open = true;
  #handle: QueryHandle | undefined;

  constructor(trx: Transaction<Database>, shared: RepositoryShared) {
    super(trx, shared);
    this.#trx = trx;
    this.#shared = shared;
  }

  /** Compiled queries run directly on SQLite while this transaction holds the connection. */
  protected override queryHandle(): QueryHandle {
    const direct = this.#shared.direct;
    this.#handle ??= {
      kysely: this.#trx,
      dialect: this.#shared.dialect,
      ...(direct
        ? {
            direct: (sql: string, p: readonly unknown[]) =>
              this.#open ? direct.held(sql, p) : undefined,
          }
        : {}),
    };
    return this.#handle;
  }

  /** Called when the transaction committed or rolled back: no more direct statements. */
  ended(): void {
    this.#open = false;
  }

  protected override botReads(cache: BotCache): BotReads {
    this.#botReads ??= cache.forTransaction();
    return this.#botReads;
  }

  /** Called once the transaction committed: caches drop what it wrote. */
  committed(): void {
    this.#botReads?.committed();
  }
}
