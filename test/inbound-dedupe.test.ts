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
  });
}
