/**
 * Dedupe at the door: a provider delivery id passed as `dedupeKey` is recorded with the
 * message in one transaction, so copies (also racing ones, also after a restart) create
 * nothing.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(`inbound dedupe (${backend})`, runsOn(backend), () => {
    const apps: TestApp[] = [];
    after(async () => {
      for (const a of apps) await a.close().catch(() => {});
    });

    test("20 racing copies store one message and one task; a restart remembers the key", async () => {
      const db = await createTestDatabase(backend);
      let t = await startTestApp({ keepDb: db, tuning: { pollMs: 60_000 } });
      apps.push(t);
      const sessionId = await t.session("dedupe:racing");
      const inject = (app: TestApp) =>
        app.app.sessions.injectMessage(sessionId, {
          content: "hello",
          source: "provider-x",
          runAgent: true,
          notify: false,
          dedupeKey: "delivery-1",
        });
      const results = await Promise.all(Array.from({ length: 20 }, () => inject(t)));
      const fresh = results.filter((r) => !r.duplicate);
      assert.equal(fresh.length, 1, "exactly one copy is new");
      for (const r of results) {
        assert.equal(r.messageId, fresh[0]!.messageId);
        assert.equal(r.taskId, fresh[0]!.taskId);
      }
      const msgs = await t.api("GET", `/api/v1/sessions/${sessionId}/messages`);
      assert.equal(msgs.status, 200);
      assert.equal(msgs.body.filter((m: any) => m.content === "hello").length, 1);

      // The same key from another source is a different delivery.
      const other = await t.app.sessions.injectMessage(sessionId, {
        content: "hello",
        source: "provider-y",
        dedupeKey: "delivery-1",
      });
      assert.equal(other.duplicate, false);

      await t.close();
      t = await startTestApp({ keepDb: db, tuning: { pollMs: 60_000 } });
      apps.push(t);
      const again = await inject(t);
      assert.equal(again.duplicate, true);
      assert.equal(again.taskId, fresh[0]!.taskId);
      const after = await t.api("GET", `/api/v1/sessions/${sessionId}/messages`);
      assert.equal(after.body.filter((m: any) => m.content === "hello").length, 2);
      await t.close();
      await db.drop();
    });

    test("receipts are kept 7 days: a redelivery after 6 days is still a duplicate, 8-day-old ones are pruned", async () => {
      const db = await createTestDatabase(backend);
      const t = await startTestApp({ keepDb: db, tuning: { pollMs: 60_000 } });
      apps.push(t);
      const sessionId = await t.session("dedupe:retention");
      const first = await t.app.sessions.injectMessage(sessionId, {
        content: "six days ago",
        source: "provider-x",
        dedupeKey: "late-redelivery",
      });
      await t.app.sessions.injectMessage(sessionId, {
        content: "eight days ago",
        source: "provider-x",
        dedupeKey: "long-gone",
      });
      // Age the receipts through the store, then let a keyed message of a new process run
      // the prune (this one's ran with the injections above, before the ageing; once an hour).
      const day = 24 * 3600_000;
      const age = (key: string, days: number) =>
        t.app.store.db.kysely
          .updateTable("inbound_receipts")
          .set({ created_at: Date.now() - days * day })
          .where("source", "=", "provider-x")
          .where("key", "=", key)
          .execute();
      await age("late-redelivery", 6);
      await age("long-gone", 8);
      await t.close();
      const restarted = await startTestApp({ keepDb: db, tuning: { pollMs: 60_000 } });
      apps.push(restarted);
      await restarted.app.sessions.injectMessage(sessionId, {
        content: "runs the prune",
        source: "provider-x",
        dedupeKey: "trigger",
      });
      const keys = () =>
        restarted.app.store.db.kysely
          .selectFrom("inbound_receipts")
          .select("key")
          .where("source", "=", "provider-x")
          .execute()
          .then((rows) => rows.map((r) => r.key).sort());
      // The prune is not awaited by the injection: wait for the 8-day-old receipt to go.
      let left = await keys();
      for (let i = 0; i < 500 && left.includes("long-gone"); i++) {
        await new Promise((r) => setTimeout(r, 10));
        left = await keys();
      }
      assert.deepEqual(
        left,
        ["late-redelivery", "trigger"],
        "only the receipt older than 7 days went",
      );
      const again = await restarted.app.sessions.injectMessage(sessionId, {
        content: "six days ago",
        source: "provider-x",
        dedupeKey: "late-redelivery",
      });
      assert.equal(again.duplicate, true, "a redelivery after 6 days creates nothing");
      assert.equal(again.messageId, first.messageId);
      const msgs = await restarted.api("GET", `/api/v1/sessions/${sessionId}/messages`);
      assert.equal(msgs.body.filter((m: any) => m.content === "six days ago").length, 1);
      await restarted.close();
      await db.drop();
    });
  });
}
