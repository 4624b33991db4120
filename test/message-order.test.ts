/**
 * Message order by a store-assigned sequence (issue 14, DESIGN §3): two stores on one
 * database play two instances whose clocks disagree by two hours; messages written
 * alternately into one session come back (history, newest-first API read, stream cursor,
 * a turn's history) in the order they were committed, not by their ids or times. On
 * PostgreSQL, a second writer into the same session waits for the first one's commit, so
 * no committed message ever appears below one a reader has already seen.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { Store } from "../src/store/index.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn } from "./support/db.ts";

const HOUR = 3_600_000;

for (const backend of ALL_BACKENDS) {
  describe(`message order (${backend})`, runsOn(backend), () => {
    test("two instances with skewed clocks: the order is the commit order", async () => {
      const db = await createTestDatabase(backend);
      // A runs an hour fast, B an hour slow.
      const a = await Store.open(db.url, { clock: () => Date.now() + HOUR });
      const b = await Store.open(db.url, { clock: () => Date.now() - HOUR });
      try {
        const { session } = await a.sessions.getOrCreate("default", "order:skew");
        const written = [];
        for (const [store, content] of [
          [a, "a1"],
          [b, "b1"],
          [a, "a2"],
          [b, "b2"],
        ] as const) {
          written.push(
            await store.messages.insert({ sessionId: session.id, role: "user", content }),
          );
        }
        const commitOrder = ["a1", "b1", "a2", "b2"];
        // The skew is real: by time (and by id) B's messages come first.
        assert.ok(written[1]!.createdAt < written[0]!.createdAt);
        assert.ok(written[1]!.id < written[0]!.id);
        const seqs = written.map((m) => m.seq);
        assert.deepEqual(
          seqs,
          [...seqs].sort((x, y) => x - y),
          "seq increases in commit order",
        );

        const recent = await b.messages.listRecent(session.id, 10);
        assert.deepEqual(
          recent.map((m) => m.content),
          commitOrder,
        );
        const lastTwo = await a.messages.listRecent(session.id, 2);
        assert.deepEqual(
          lastTwo.map((m) => m.content),
          ["a2", "b2"],
        );
        const before = await a.messages.listRecent(session.id, 10, written[2]!.id);
        assert.deepEqual(
          before.map((m) => m.content),
          ["a1", "b1"],
        );
        const after = await a.messages.listAfter(session.id, written[0]!.id, 10);
        assert.deepEqual(
          after.map((m) => m.content),
          ["b1", "a2", "b2"],
        );
        // A turn for a2 sees what was committed before it.
        const history = await b.messages.turnHistory(session.id, written[2]!.id, 10);
        assert.deepEqual(
          history.map((m) => m.content),
          ["a1", "b1"],
        );
      } finally {
        await a.close();
        await b.close();
        await db.drop();
      }
    });
  });
}

describe("message order under concurrent writers (postgres)", runsOn("postgres"), () => {
  test("a second writer into the session waits for the first one's commit", async () => {
    const db = await createTestDatabase("postgres");
    const a = await Store.open(db.url);
    const b = await Store.open(db.url);
    try {
      const { session } = await a.sessions.getOrCreate("default", "order:concurrent");
      const events: string[] = [];
      let second: Promise<unknown> | undefined;
      let secondSeq = 0;
      const first = await a.transaction(async (tx) => {
        const m = await tx.messages.insert({ sessionId: session.id, role: "user", content: "m1" });
        second = b.messages
          .insert({ sessionId: session.id, role: "user", content: "m2" })
          .then((x) => {
            secondSeq = x.seq;
            events.push("m2 written");
          });
        // Until the second writer either waits on the session's lock or is done.
        const until = Date.now() + 10_000;
        for (;;) {
          const waiting = await sql<{ n: number }>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'
              and wait_event = 'advisory'`.execute(b.db.kysely);
          if (waiting.rows[0]!.n > 0 || events.length > 0) break;
          assert.ok(Date.now() < until, "the second writer neither waited nor finished");
          await new Promise((r) => setTimeout(r, 10));
        }
        return m;
      });
      events.push("m1 committed");
      await second;
      assert.deepEqual(events, ["m1 committed", "m2 written"]);
      assert.ok(first.seq < secondSeq);
      const all = await b.messages.listAfter(session.id, undefined, 10);
      assert.deepEqual(
        all.map((m) => m.content),
        ["m1", "m2"],
      );
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  });
});
