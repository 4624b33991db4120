/**
 * Set-based writes of a group-commit batch: `GroupCommit.runBulk` hands consecutive inputs
 * of one bulk work to one call (src/store/group-commit.ts), and the store's multi-row
 * writes behind it (`receipts.claimMany`, `messages.insertMany`, `messages.lockSessions`,
 * `tasks.insertMany`) give the same answers as one write after the other would; a batch
 * of injections (`SessionService.injectMessage` / `injectRouted`, one bulk work) answers
 * each caller with its own outcome.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { GroupCommit } from "../src/store/group-commit.ts";
import type { Repositories } from "../src/store/index.ts";
import { sharedTestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { asOneBatch, holdTransaction } from "./support/group-batch.ts";

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
    const app = sharedTestApp({ backend, tuning: { pollMs: 60_000 } });

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

    test("claimMany without ids: nothing for nothing; a repeat sees no message id", async () => {
      const a = await app();
      const store = a.app.store;
      assert.deepEqual(await store.transaction((tx) => tx.receipts.claimMany([])), []);
      const claims = [
        { source: "bulk", key: "bare-1" },
        { source: "bulk", key: "bare-2", fingerprint: "f2" },
        { source: "bulk", key: "bare-1" },
      ];
      const none = { messageId: "", taskId: null, fingerprint: null };
      assert.deepEqual(await store.transaction((tx) => tx.receipts.claimMany(claims)), [
        undefined,
        undefined,
        none,
      ]);
      assert.deepEqual(await store.transaction((tx) => tx.receipts.claimMany(claims)), [
        none,
        { ...none, fingerprint: "f2" },
        none,
      ]);
    });

    test("claimMany takes its keys in one order whatever the order given (PostgreSQL)", async () => {
      const a = await app();
      const store = a.app.store;
      if (store.dialect !== "postgres") return;
      // One transaction has claimed "order-a" and not committed; another claims
      // ["order-b", "order-a"]: it must wait for "order-a" before it inserts "order-b", so a
      // third claim of "order-b" does not wait.
      const holder = await holdTransaction(store, (tx) =>
        tx.receipts.claimMany([
          { source: "bulk-order", key: "order-a" },
          { source: "bulk-order", key: "order-0" },
        ]),
      );
      const asker = store.transaction((tx) =>
        tx.receipts.claimMany([
          { source: "bulk-order", key: "order-b" },
          { source: "bulk-order", key: "order-a" },
        ]),
      );
      await new Promise((r) => setTimeout(r, 200));
      let third: unknown;
      try {
        // On one connection, with a bound wait: an insert of "order-b" that had to wait for
        // the asker would fail with lock_timeout.
        third = await store.db.kysely.transaction().execute(async (trx) => {
          await sql`set local lock_timeout = '300ms'`.execute(trx);
          const r = await sql<{ key: string }>`insert into inbound_receipts
              (source, key, message_id, task_id, fingerprint, created_at)
              values ('bulk-order', 'order-b', null, null, null, ${Date.now()})
              on conflict do nothing returning key`.execute(trx);
          return r.rows.map((x) => x.key);
        });
      } catch (err) {
        third = String(err);
      } finally {
        await holder.commit();
        await asker;
      }
      assert.deepEqual(third, ["order-b"], "order-b was free while order-a was awaited");
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
      const holder = await holdTransaction(store, (tx) => tx.messages.lockSessions([s2, s1, s2]));
      const order: string[] = [];
      // A single insert into the second session waits for the holder's commit.
      const waiter = store.messages
        .insert({ sessionId: s1, role: "user", content: "waits" })
        .then(() => order.push("insert"));
      await new Promise((r) => setTimeout(r, 200));
      order.push("release");
      await holder.commit();
      await waiter;
      assert.deepEqual(order, ["release", "insert"]);
    });
  });
}

for (const backend of ALL_BACKENDS) {
  describe(`a batch of injections, written together (${backend})`, runsOn(backend), () => {
    const app = sharedTestApp({ backend, tuning: { pollMs: 60_000 } });
    const none = { type: "none", config: { type: "none" } };

    test("a channel's active session follows the batch's last message (threads A, B, A)", async () => {
      const a = await app();
      const store = a.app.store;
      const key = "bulk:T1:C1";
      const sA = await a.session(`${key}:A`);
      const sB = await a.session(`${key}:B`);
      const channel = await store.channels.insert({
        clientId: key,
        integration: "bulk",
        team: "T1",
        channel: "C1",
        botId: "default",
        requireMention: false,
        passiveMemory: false,
      });
      assert.ok(channel);
      await store.channels.setActiveSession(channel.id, sA);
      const send = (thread: string, dedupeKey: string) =>
        a.app.sessions.injectRouted(none, async (reads) => {
          const ch = await reads.channel(key);
          const session = await reads.openSession("default", `${key}:${thread}`);
          if (!session) return { skip: "no session" };
          return {
            session,
            message: { content: dedupeKey, source: "bulk", dedupeKey },
            ...(ch ? { channel: ch } : {}),
          };
        });
      const before = store.groupCommitStats.batchedWorks;
      const out = await asOneBatch(store, 3, () =>
        Promise.all([send("A", "e1"), send("B", "e2"), send("A", "e3")]),
      );
      assert.equal(store.groupCommitStats.batchedWorks, before + 3, "one batch");
      const ids = out.map((o) => ("sessionId" in o ? o.sessionId : o.skip));
      assert.deepEqual(ids, [sA, sB, sA]);
      assert.equal((await store.channels.get(channel.id))?.activeSessionId, sA);
      // A batch whose last message went to B leaves B active; a duplicate changes nothing.
      await asOneBatch(store, 2, () => Promise.all([send("A", "e4"), send("B", "e5")]));
      assert.equal((await store.channels.get(channel.id))?.activeSessionId, sB);
      await send("A", "e1");
      assert.equal((await store.channels.get(channel.id))?.activeSessionId, sB);
    });

    test("skipped, routed and planned injections in one batch each get their own outcome", async () => {
      const a = await app();
      const store = a.app.store;
      const sessionId = await a.session("bulk:mixed");
      const session = await store.sessions.get(sessionId);
      assert.ok(session);
      const before = store.groupCommitStats;
      const [skipped, routed, planned, failed] = await asOneBatch(store, 4, () =>
        Promise.allSettled([
          a.app.sessions.injectRouted(none, async () => ({ skip: "not for us" })),
          a.app.sessions.injectRouted(none, async () => ({
            session,
            message: { content: "routed", source: "bulk", dedupeKey: "mixed-r" },
          })),
          a.app.sessions.injectMessage(sessionId, {
            content: "planned",
            source: "bulk",
            runAgent: true,
            notify: false,
            dedupeKey: "mixed-p",
          }),
          a.app.sessions.injectRouted(none, async () => {
            throw new Error("route failed");
          }),
        ]),
      );
      assert.deepEqual(skipped, { status: "fulfilled", value: { skip: "not for us" } });
      assert.equal(failed.status, "rejected");
      assert.match(String((failed as PromiseRejectedResult).reason), /route failed/);
      assert.equal(store.groupCommitStats.fallbacks, before.fallbacks + 1);
      assert.equal(routed.status, "fulfilled");
      assert.equal(planned.status, "fulfilled");
      const r = (routed as PromiseFulfilledResult<{ messageId: string; taskId: string | null }>)
        .value;
      const p = (planned as PromiseFulfilledResult<{ messageId: string; taskId: string | null }>)
        .value;
      assert.equal((await store.messages.get(r.messageId))?.content, "routed");
      assert.equal(r.taskId, null);
      assert.equal((await store.messages.get(p.messageId))?.content, "planned");
      assert.equal((await store.tasks.get(p.taskId!))?.messageId, p.messageId);
      const tasks = await store.tasks.list({ sessionId, limit: 10 });
      assert.deepEqual(
        tasks.map((x) => x.id),
        [p.taskId],
        "only the message that asked for a turn has a task",
      );
    });

    test("one key twice in a batch with different fingerprints: the first is stored, the second refused", async () => {
      const a = await app();
      const sessionId = await a.session("bulk:fingerprints");
      const inject = (content: string, fp: string) =>
        a.app.sessions.injectMessage(sessionId, {
          content,
          source: "bulk",
          dedupeKey: "fp-key",
          dedupeFingerprint: fp,
        });
      const [one, two] = await asOneBatch(a.app.store, 2, () =>
        Promise.allSettled([inject("one", "fp-1"), inject("two", "fp-2")]),
      );
      const settled = [one, two];
      const stored = settled.filter((x) => x.status === "fulfilled");
      const refused = settled.filter((x) => x.status === "rejected");
      assert.equal(stored.length, 1);
      assert.equal(refused.length, 1);
      assert.equal((refused[0] as PromiseRejectedResult).reason.name, "DedupeKeyReusedError");
      const contents = (await a.app.store.messages.listRecent(sessionId, 10)).map((m) => m.content);
      assert.equal(contents.length, 1);
    });

    test("a stored key twice in a batch: both copies answer the stored ids; task.created only for new tasks", async () => {
      const a = await app();
      const store = a.app.store;
      const hook = await a.api("POST", "/api/v1/webhooks", {
        url: "http://127.0.0.1:9/bulk-events",
        events: ["task.created"],
      });
      assert.equal(hook.status, 201);
      const subscriptionId = hook.body.webhook.id as string;
      try {
        const sessionId = await a.session("bulk:stored-twice");
        const inject = (key: string) =>
          a.app.sessions.injectMessage(sessionId, {
            content: key,
            source: "bulk",
            runAgent: true,
            notify: false,
            dedupeKey: key,
          });
        const first = await inject("st-1");
        const out = await asOneBatch(store, 4, () =>
          Promise.all([inject("st-1"), inject("st-2"), inject("st-1"), inject("st-2")]),
        );
        for (const i of [0, 2]) {
          assert.deepEqual(
            [out[i]!.duplicate, out[i]!.messageId, out[i]!.taskId],
            [true, first.messageId, first.taskId],
          );
        }
        // Which copy of st-2 is the first is the batch's order, which on PostgreSQL follows
        // the order the injections' reads answered in, not the order of the calls.
        const [kept, repeat] = out[1]!.duplicate ? [out[3]!, out[1]!] : [out[1]!, out[3]!];
        assert.equal(kept.duplicate, false);
        assert.deepEqual(
          [repeat.duplicate, repeat.messageId, repeat.taskId],
          [true, kept.messageId, kept.taskId],
        );
        const created = (await store.deliveries.list({ subscriptionId, limit: 100 }))
          .map((d) => (d.payload as { data?: { task_id?: string } }).data?.task_id)
          .sort();
        assert.deepEqual(created, [first.taskId, kept.taskId].sort());
      } finally {
        await a.api("DELETE", `/api/v1/webhooks/${subscriptionId}`);
      }
    });

    test("lockSessions takes its locks in one order whatever the order given (PostgreSQL)", async () => {
      const a = await app();
      const store = a.app.store;
      if (store.dialect !== "postgres") return;
      const ids = [await a.session("bulk:order-1"), await a.session("bulk:order-2")];
      // Which of the two sorts first by the lock's key.
      const keyed = await Promise.all(
        ids.map(async (id) => ({
          id,
          k: Number(
            (await sql<{ k: number }>`select hashtext(${id}) as k`.execute(store.db.kysely))
              .rows[0]!.k,
          ),
        })),
      );
      keyed.sort((x, y) => x.k - y.k);
      const [low, high] = keyed.map((x) => x.id) as [string, string];
      // One transaction holds `low`; another asks for [high, low]: it must wait for `low`
      // before taking `high`, so `high` stays free meanwhile.
      const holder = await holdTransaction(store, (tx) => tx.messages.lockSessions([low]));
      const asker = store.transaction((tx) => tx.messages.lockSessions([high, low]));
      await new Promise((r) => setTimeout(r, 200));
      // A statement of its own (its transaction-scoped lock ends with it).
      const tried = await sql<{
        got: boolean;
      }>`select pg_try_advisory_xact_lock(${sql.lit(0x5357)}, hashtext(${high})) as got`.execute(
        store.db.kysely,
      );
      const free = tried.rows[0]!.got;
      await holder.commit();
      await asker;
      assert.equal(free, true, "the later key was not taken while the earlier one was awaited");
    });
  });
}
