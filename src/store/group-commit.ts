/**
 * Group commit: concurrent small write transactions (inbound messages: a receipt, a
 * message, maybe a task) share one database transaction, so a burst pays for one BEGIN /
 * COMMIT (and on PostgreSQL one WAL flush) instead of one per request.
 *
 * Each caller's work is queued; once per event-loop turn (`setImmediate`) the queue is
 * taken as one batch and the works run one after the other, in arrival order, in one
 * transaction. Every caller's promise settles only after that transaction committed (or
 * failed), so a caller that answers its client after `run` resolves answers after its
 * rows are durable, exactly as with a transaction of its own.
 *
 * A work that throws must not fail its neighbours: the batch is rolled back and every
 * work of it runs again alone, in its own transaction, settling with its own outcome. A
 * failed commit is handled the same way. Works must therefore touch nothing but `tx`
 * (their results are returned, side effects happen after `run` resolves) and may run twice.
 * Because the works of a batch run in order in one transaction, a later work sees what an
 * earlier one wrote (a second copy of a dedupe key in the same batch is a duplicate).
 *
 * A bulk work ({@link GroupCommit.runBulk}) is one input to a function that writes many
 * at once: consecutive inputs of the same function in a batch are handed to it together,
 * so a batch of inbound messages costs a few multi-row statements instead of a few per
 * message (on PostgreSQL each is a round trip). Alone, it is called with its one input.
 */
import type { Repositories } from "./repositories.ts";

/** Runs `fn` in one transaction (commit when it resolves, roll back when it throws). */
export type TransactionRunner = <T>(fn: (tx: Repositories) => Promise<T>) => Promise<T>;

/** Options of {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Most works in one transaction. Default 64. */
  maxBatch?: number;
  /**
   * Batches in flight at once. Default 1: while one commits, the next gathers (SQLite
   * serialises writers anyway); PostgreSQL profits from a few.
   */
  maxInFlight?: number;
  /**
   * Whether a work that failed alone with `err` may run again (at most
   * {@link RETRIES_ALONE} more times): on PostgreSQL, a deadlock victim (SQLSTATE 40P01).
   * An injection batch takes its sessions' locks, then its receipts, then its channel
   * updates, each in one global order, so two batches should not deadlock each other;
   * this stays for what that misses (other writers' orders). The database aborted only
   * the victim's transaction, so running it again is the remedy PostgreSQL documents
   * (https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-DEADLOCKS).
   * Default never.
   */
  retryAlone?: (err: unknown) => boolean;
}

/** Most extra runs of a work alone after a retryable failure. */
export const RETRIES_ALONE = 3;

/**
 * Writes the inputs of one batch together through `tx`; resolves with one result per
 * input, in order. Like any work it writes only through `tx` and may run again, on any
 * subset of its inputs (each alone, after a failure).
 */
export type BulkWork<I, O> = (tx: Repositories, inputs: I[]) => Promise<O[]>;

type Item = (
  | { work: (tx: Repositories) => Promise<unknown>; bulk?: undefined; input?: undefined }
  | { work?: undefined; bulk: BulkWork<unknown, unknown>; input: unknown }
) & {
  resolve(v: unknown): void;
  reject(err: unknown): void;
};

/** How many works ran in batches of how many, and what is waiting now (tests, the bench). */
export interface GroupCommitStats {
  /** Works waiting for a batch. */
  queued: number;
  /** Batches running now. */
  inFlight: number;
  /** Most batches running at once. */
  maxInFlight: number;
  /** Transactions committed holding more than one work. */
  batches: number;
  /** Works committed in those. */
  batchedWorks: number;
  /** Batches rolled back and run again one work at a time. */
  fallbacks: number;
  /** Works run again alone after a retryable failure (see {@link GroupCommitOptions.retryAlone}). */
  retries: number;
}

/** Batches concurrent transactions into one (see the module comment). */
export class GroupCommit {
  readonly #transaction: TransactionRunner;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #retryAlone: ((err: unknown) => boolean) | undefined;
  #queue: Item[] = [];
  #inFlight = 0;
  #scheduled = false;
  readonly #counts = { batches: 0, batchedWorks: 0, fallbacks: 0, retries: 0 };

  constructor(transaction: TransactionRunner, opts: GroupCommitOptions = {}) {
    this.#transaction = transaction;
    this.#maxBatch = Math.max(1, opts.maxBatch ?? 64);
    this.#maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
    this.#retryAlone = opts.retryAlone;
  }

  /** The counts so far and the queue now. */
  get stats(): GroupCommitStats {
    return {
      ...this.#counts,
      queued: this.#queue.length,
      inFlight: this.#inFlight,
      maxInFlight: this.#maxInFlight,
    };
  }

  /**
   * Runs `work` in a transaction shared with other works queued in the same turn; resolves
   * with its result once that transaction committed, or rejects with its own error (a
   * neighbour's failure never reaches it). `work` must write only through `tx` and may be
   * called twice (see the module comment).
   */
  run<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      this.#schedule();
    });
  }

  /**
   * Runs `input` through `bulk` in a transaction shared with the works queued in the same
   * turn; inputs of the same `bulk` next to each other in the queue go to one call. Settles
   * as {@link run} does, with this input's result.
   */
  runBulk<I, O>(bulk: BulkWork<I, O>, input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({
        bulk: bulk as BulkWork<unknown, unknown>,
        input,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      void this.#runBatch(batch).finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
    }
  }

  async #runBatch(batch: Item[]): Promise<void> {
    if (batch.length === 1) return this.#runAlone(batch[0]!);
    let results: unknown[];
    try {
      results = await this.#transaction((tx) => runInOrder(tx, batch));
    } catch {
      // One work (or the commit) failed: nothing of the batch is stored. Each runs again
      // alone, so only the failing one fails.
      this.#counts.fallbacks++;
      for (const item of batch) await this.#runAlone(item);
      return;
    }
    this.#counts.batches++;
    this.#counts.batchedWorks += batch.length;
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]);
  }

  async #runAlone(item: Item): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        item.resolve((await this.#transaction((tx) => runInOrder(tx, [item])))[0]);
        return;
      } catch (err) {
        if (attempt < RETRIES_ALONE && this.#retryAlone?.(err)) {
          this.#counts.retries++;
          continue;
        }
        item.reject(err);
        return;
      }
    }
  }
}

/**
 * Runs the works of `items` through `tx` in order, each run of consecutive inputs of one
 * bulk work in one call; returns their results in order.
 * @throws what a work throws, or an Error when a bulk work returns a result count that is
 *   not its input count
 */
async function runInOrder(tx: Repositories, items: Item[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < items.length; ) {
    const item = items[i]!;
    if (!item.bulk) {
      out.push(await item.work(tx));
      i++;
      continue;
    }
    let end = i + 1;
    while (end < items.length && items[end]!.bulk === item.bulk) end++;
    const inputs = items.slice(i, end).map((x) => x.input);
    const results = await item.bulk(tx, inputs);
    if (results.length !== inputs.length) {
      throw new Error(`a bulk work returned ${results.length} results for ${inputs.length} inputs`);
    }
    out.push(...results);
    i = end;
  }
  return out;
}
