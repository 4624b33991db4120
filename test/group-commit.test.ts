/**
 * Group commit (src/store/group-commit.ts): injections queued in the same event-loop turn
 * share one transaction, and each is answered only after it committed. Dedupe stays exact
 * inside a batch (a second copy of a key in the same batch is a duplicate of the first),
 * one failing injection does not fail the others of its batch, and a batch that never
 * committed (the process died, the commit failed) stored nothing, so the provider's
 * redelivery is accepted as new.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GroupCommit, RETRIES_ALONE } from "../src/store/group-commit.ts";
import type { Repositories } from "../src/store/index.ts";
import { sharedTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { asOneBatch } from "./support/group-batch.ts";

for (const backend of ALL_BACKENDS) {
  describe(`group commit (${backend})`, runsOn(backend), () => {
    const app = sharedTestApp({ backend, tuning: { pollMs: 60_000 } });
    const contents = async (a: TestApp, sessionId: string) =>
      (await a.app.store.messages.listRecent(sessionId, 1000)).map((m) => m.content);

    test("a duplicate inside one batch stores nothing and answers the first one's ids", async () => {
      const a = await app();
      const sessionId = await a.session("group:dup");
      const before = a.app.store.groupCommitStats;
      const inject = (content: string, key: string) =>
        a.app.sessions.injectMessage(sessionId, {
          content,
          source: "provider-x",
          runAgent: true,
          notify: false,
          dedupeKey: key,
        });
      const [first, copy, other] = await asOneBatch(a.app.store, 3, () =>
        Promise.all([
          inject("first", "k-dup"),
          inject("copy", "k-dup"),
          inject("other", "k-other"),
        ]),
      );
      const stats = a.app.store.groupCommitStats;
      assert.ok(stats.batchedWorks >= before.batchedWorks + 3, "the three shared one transaction");
      // Which copy is "the first" is the batch's order, which on PostgreSQL follows the
      // order the injections' reads answered in, not the order of the calls.
      const [kept, repeat] = first.duplicate ? [copy, first] : [first, copy];
      assert.equal(kept.duplicate, false);
      assert.equal(repeat.duplicate, true);
      assert.equal(repeat.messageId, kept.messageId);
      assert.equal(repeat.taskId, kept.taskId);
      assert.ok(kept.taskId, "the stored copy queued a task");
      assert.equal(other.duplicate, false);
      const stored = (await contents(a, sessionId)).sort();
      assert.deepEqual(stored, [kept === first ? "first" : "copy", "other"].sort());
    });

    test("a failing injection does not fail its neighbours", async () => {
      const a = await app();
      const sessionId = await a.session("group:fail");
      const inject = (content: string, key: string, fingerprint?: string) =>
        a.app.sessions.injectMessage(sessionId, {
          content,
          source: "provider-x",
          dedupeKey: key,
          ...(fingerprint ? { dedupeFingerprint: fingerprint } : {}),
        });
      await inject("original", "k-reused", "fp-1");
      const before = a.app.store.groupCommitStats;
      // The middle one reuses a key with another request: it throws inside the batch.
      const [left, middle, right] = await asOneBatch(a.app.store, 3, () =>
        Promise.allSettled([
          inject("left", "k-left"),
          inject("reused", "k-reused", "fp-2"),
          inject("right", "k-right"),
        ]),
      );
      assert.equal(left.status, "fulfilled");
      assert.equal(right.status, "fulfilled");
      assert.equal(middle.status, "rejected");
      assert.equal((middle as PromiseRejectedResult).reason.name, "DedupeKeyReusedError");
      assert.equal(
        a.app.store.groupCommitStats.fallbacks,
        before.fallbacks + 1,
        "the batch was run again one by one",
      );
      assert.deepEqual((await contents(a, sessionId)).sort(), ["left", "original", "right"]);
    });

    test("a batch that never committed stored nothing: the redelivery is accepted", async () => {
      const a = await app();
      const sessionId = await a.session("group:crash");
      const store = a.app.store;
      const real = store.transaction.bind(store);
      // Every transaction does its work and then dies before COMMIT (rolled back), as when
      // the process is killed between the writes and the commit.
      let crashes = 0;
      store.transaction = (async (fn: (tx: Repositories) => Promise<unknown>) =>
        real(async (tx) => {
          await fn(tx);
          crashes++;
          throw new Error("crash before commit");
        })) as typeof store.transaction;
      const inject = (key: string) =>
        a.app.sessions.injectMessage(sessionId, {
          content: `event ${key}`,
          source: "provider-x",
          dedupeKey: key,
        });
      let lost: PromiseSettledResult<unknown>[];
      try {
        lost = await Promise.allSettled([inject("k-1"), inject("k-2")]);
      } finally {
        delete (store as { transaction?: unknown }).transaction; // back to the prototype's
      }
      assert.ok(crashes >= 2, "the batch reached the commit");
      for (const r of lost) {
        assert.equal(r.status, "rejected", "no caller is answered as if it were stored");
      }
      assert.deepEqual(await contents(a, sessionId), []);
      // The provider redelivers (it got no 2xx): accepted as new, stored once.
      const again = await Promise.all([inject("k-1"), inject("k-2")]);
      for (const r of again) assert.equal(r.duplicate, false);
      assert.deepEqual((await contents(a, sessionId)).sort(), ["event k-1", "event k-2"]);
      const copies = await Promise.all([inject("k-1"), inject("k-2")]);
      for (const r of copies) assert.equal(r.duplicate, true);
    });
  });
}

describe("group commit: a deadlock victim runs again alone", () => {
  // The PostgreSQL store passes `retryAlone` for SQLSTATE 40P01 (src/store/index.ts); here
  // the transaction runner is a fake that aborts the first tries as PostgreSQL does.
  const deadlock = () => Object.assign(new Error("deadlock detected"), { code: "40P01" });
  const isDeadlock = (e: unknown) => (e as { code?: string }).code === "40P01";

  test("a work aborted by a deadlock is run again and answers; other errors are not retried", async () => {
    let aborts = 2;
    const runs: string[] = [];
    const gc = new GroupCommit(
      async (fn) => {
        const out = await fn({} as Repositories);
        if (aborts > 0) {
          aborts--;
          throw deadlock();
        }
        return out;
      },
      { retryAlone: isDeadlock },
    );
    const ok = await gc.run(async () => {
      runs.push("w");
      return 42;
    });
    assert.equal(ok, 42);
    assert.equal(runs.length, 3, "run until the transaction committed");
    assert.equal(gc.stats.retries, 2);

    const plain = new GroupCommit(
      async () => {
        throw deadlock();
      },
      { retryAlone: isDeadlock },
    );
    await assert.rejects(
      plain.run(async () => 1),
      /deadlock/,
    );
    assert.equal(plain.stats.retries, RETRIES_ALONE, "bounded");
    const other = new GroupCommit(
      async () => {
        throw new Error("no such table");
      },
      { retryAlone: isDeadlock },
    );
    await assert.rejects(
      other.run(async () => 1),
      /no such table/,
    );
    assert.equal(other.stats.retries, 0);
  });
});
