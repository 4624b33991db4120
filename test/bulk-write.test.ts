/**
 * Set-based writes of a group-commit batch: `GroupCommit.runBulk` hands consecutive inputs
 * of one bulk work to one call (src/store/group-commit.ts), and the store's multi-row
 * writes behind it (`receipts.claimMany`, `messages.insertMany`, `messages.lockSessions`,
 * `tasks.insertMany`) give the same answers as one write after the other would.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { GroupCommit } from "../src/store/group-commit.ts";
import type { Repositories } from "../src/store/index.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

describe("group commit: bulk works", () => {
  /** A transaction runner that records each transaction's calls (no database). */
  function recorder() {
    const transactions: string[][] = [];
    let current: string[] | undefined;
    const gc = new GroupCommit(async (fn) => {
      current = [];
      transactions.push(current);
      return fn({} as Repositories);
    });
    const log = (s: string) => current?.push(s);
    return { gc, transactions, log };
  }

  test("consecutive inputs of one bulk work go to one call; a plain work between splits them", async () => {
    const { gc, transactions, log } = recorder();
    const double = async (_tx: Repositories, xs: number[]) => {
      log(`double(${xs.join(",")})`);
      return xs.map((x) => x * 2);
    };
    const square = async (_tx: Repositories, xs: number[]) => {
      log(`square(${xs.join(",")})`);
      return xs.map((x) => x * x);
    };
    const out = await Promise.all([
      gc.runBulk(double, 1),
      gc.runBulk(double, 2),
      gc.run(async () => {
        log("plain");
        return "p";
      }),
      gc.runBulk(double, 3),
      gc.runBulk(square, 4),
      gc.runBulk(square, 5),
    ]);
    assert.deepEqual(out, [2, 4, "p", 6, 16, 25]);
    assert.deepEqual(transactions, [["double(1,2)", "plain", "double(3)", "square(4,5)"]]);
    assert.equal(gc.stats.batches, 1);
    assert.equal(gc.stats.batchedWorks, 6);
  });

  test("a bulk work that answers a wrong count fails its batch, which then runs input by input", async () => {
    const { gc, transactions } = recorder();
    // Answers one result however many inputs: right alone, wrong for a batch.
    const first = async (_tx: Repositories, xs: string[]) => [xs[0]!.toUpperCase()];
    const out = await Promise.all([gc.runBulk(first, "a"), gc.runBulk(first, "b")]);
    assert.deepEqual(out, ["A", "B"]);
    assert.equal(gc.stats.fallbacks, 1);
    assert.equal(transactions.length, 3, "the batch, then each input in its own transaction");
  });

  test("a bulk work that throws rejects only the input that fails alone", async () => {
    const { gc } = recorder();
    const picky = async (_tx: Repositories, xs: number[]) => {
      if (xs.includes(13)) throw new Error("unlucky");
      return xs;
    };
    const [a, b, c] = await Promise.allSettled([
      gc.runBulk(picky, 1),
      gc.runBulk(picky, 13),
      gc.runBulk(picky, 3),
    ]);
    assert.deepEqual(a, { status: "fulfilled", value: 1 });
    assert.equal(b.status, "rejected");
    assert.match(String((b as PromiseRejectedResult).reason), /unlucky/);
    assert.deepEqual(c, { status: "fulfilled", value: 3 });
  });
});

for (const backend of ALL_BACKENDS) {
  describe(`multi-row writes (${backend})`, runsOn(backend), () => {
    let t: TestApp | undefined;
    after(async () => {
      await t?.close();
    });
    const app = async () => {
      t ??= await startTestApp({ backend, tuning: { pollMs: 60_000 } });
      return t;
    };

    test("claimMany: the first claim of a key owns it, a later one in the call and a stored one are seen", async () => {
      const a = await app();
      const store = a.app.store;
      assert.equal(
        await store.receipts.claim("bulk", "stored", "fp-s", { messageId: "m-s", taskId: null }),
        undefined,
      );
      const seen = await store.transaction((tx) =>
        tx.receipts.claimMany([
          {
            source: "bulk",
            key: "k1",
            fingerprint: "fp-1",
            ids: { messageId: "m1", taskId: "t1" },
          },
          {
            source: "bulk",
            key: "stored",
            fingerprint: "fp-x",
            ids: { messageId: "mx", taskId: null },
          },
          {
            source: "bulk",
            key: "k1",
            fingerprint: "fp-2",
            ids: { messageId: "m2", taskId: null },
          },
          { source: "other", key: "k1", ids: { messageId: "m3", taskId: null } },
        ]),
      );
      assert.deepEqual(seen, [
        undefined,
        { messageId: "m-s", taskId: null, fingerprint: "fp-s" },
        { messageId: "m1", taskId: "t1", fingerprint: "fp-1" },
        undefined,
      ]);
      // Committed: each claimed key is now seen with the ids it was claimed with.
      assert.deepEqual(await store.receipts.claim("bulk", "k1"), {
        messageId: "m1",
        taskId: "t1",
        fingerprint: "fp-1",
      });
      assert.deepEqual(await store.receipts.claim("other", "k1"), {
        messageId: "m3",
        taskId: null,
        fingerprint: null,
      });
    });

    test("insertMany: seq increases in the order given, across sessions and after earlier messages", async () => {
      const a = await app();
      const store = a.app.store;
      const s1 = await a.session("bulk:seq-1");
      const s2 = await a.session("bulk:seq-2");
      const before = await store.messages.insert({
        sessionId: s1,
        role: "user",
        content: "before",
      });
      const made = await store.transaction((tx) =>
        tx.messages.insertMany(
          ["a", "b", "c", "d"].map((content, i) => ({
            sessionId: i % 2 ? s2 : s1,
            role: "user" as const,
            content,
            metadata: { i },
          })),
        ),
      );
      assert.deepEqual(
        made.map((m) => m.content),
        ["a", "b", "c", "d"],
      );
      const seqs = made.map((m) => m.seq);
      assert.ok(seqs[0]! > before.seq, `${seqs[0]} after ${before.seq}`);
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `${seqs}`);
      const listed = await store.messages.listRecent(s1, 10);
      assert.deepEqual(
        listed.map((m) => [m.content, m.seq, m.metadata]),
        [
          ["before", before.seq, {}],
          ["a", seqs[0], { i: 0 }],
          ["c", seqs[2], { i: 2 }],
        ],
      );
      const after = await store.messages.insert({ sessionId: s2, role: "user", content: "after" });
      assert.ok(after.seq > seqs[3]!, "a later single insert follows the batch");
    });

    test("tasks.insertMany stores pending tasks under the ids given, in order", async () => {
      const a = await app();
      const store = a.app.store;
      const sessionId = await a.session("bulk:tasks");
      const ids = [store.tasks.newId(), store.tasks.newId()];
      const made = await store.transaction((tx) =>
        tx.tasks.insertMany(
          ids.map((id, i) => ({
            id,
            sessionId,
            botId: "default",
            prompt: `p${i}`,
            dispatchType: "none",
            runAt: Date.now() + 3600_000,
          })),
        ),
      );
      assert.deepEqual(
        made.map((x) => [x.id, x.prompt, x.status]),
        [
          [ids[0], "p0", "pending"],
          [ids[1], "p1", "pending"],
        ],
      );
      for (const [i, id] of ids.entries()) {
        assert.equal((await store.tasks.get(id!))?.prompt, `p${i}`);
      }
    });

    test("lockSessions holds every session it names until commit", async () => {
      const a = await app();
      const store = a.app.store;
      if (store.dialect !== "postgres") {
        // SQLite has one writer at a time: the call is a no-op that must not fail.
        await store.transaction((tx) => tx.messages.lockSessions(["x", "y", "x"]));
        return;
      }
      const s1 = await a.session("bulk:lock-1");
      const s2 = await a.session("bulk:lock-2");
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let locked!: () => void;
      const holding = new Promise<void>((r) => {
        locked = r;
      });
      const holder = store.transaction(async (tx) => {
        await tx.messages.lockSessions([s2, s1, s2]);
        locked();
        await gate;
      });
      await holding;
      const order: string[] = [];
      // A single insert into the second session waits for the holder's commit.
      const waiter = store.messages
        .insert({ sessionId: s1, role: "user", content: "waits" })
        .then(() => order.push("insert"));
      await new Promise((r) => setTimeout(r, 200));
      order.push("release");
      release();
      await holder;
      await waiter;
      assert.deepEqual(order, ["release", "insert"]);
    });
  });
}
