/**
 * Arranging transactions in a test: works that share one group-commit batch
 * (src/store/group-commit.ts) on either backend, and a transaction held open.
 */
import type { Repositories, Store } from "../../src/store/index.ts";

/**
 * Runs `fn` in a transaction of `store` and keeps the transaction open (its locks held);
 * resolves once `fn` ran, with `commit`, which lets it end and waits for that.
 */
export async function holdTransaction(
  store: Store,
  fn: (tx: Repositories) => Promise<unknown>,
): Promise<{ commit(): Promise<void> }> {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let ran!: () => void;
  const held = new Promise<void>((r) => {
    ran = r;
  });
  const done = store.transaction(async (tx) => {
    await fn(tx);
    ran();
    await gate;
  });
  await Promise.race([held, done]);
  return {
    commit: async () => {
      release();
      await done;
    },
  };
}

/** Resolves once `cond()` holds (checked each turn of the event loop; 10 s at most). */
export async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Runs `start` so that its `queued` works commit as one batch. On SQLite they are queued in
 * the same turn (their reads before the batch are synchronous), so a batch takes them all.
 * On PostgreSQL those reads answer in different turns: every batch slot is held busy by a
 * transaction waiting on a gate (on other connections than the reads') until `queued` works
 * wait, then all go.
 */
export async function asOneBatch<T>(
  store: Store,
  queued: number,
  start: () => Promise<T>,
): Promise<T> {
  if (store.dialect === "sqlite") return start();
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const holders: Promise<unknown>[] = [];
  let holding = 0;
  try {
    while (store.groupCommitStats.inFlight < store.groupCommitStats.maxInFlight) {
      holders.push(
        store.groupTransaction(async () => {
          holding++;
          await gate;
        }),
      );
      await until(() => holding === holders.length, "a holder to run");
    }
    const out = start();
    await until(() => store.groupCommitStats.queued === queued, `${queued} queued works`);
    return out;
  } finally {
    release();
    await Promise.all(holders);
  }
}
