/**
 * `ctx.state`'s store (store/integration-kv.ts), on SQLite and PostgreSQL: values are JSON,
 * kept per integration, replaced by a later set, deleted by `undefined`, and refused when
 * the key or value is out of bounds.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Store } from "../src/store/index.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn, type TestDatabase } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(`integration state (${backend})`, runsOn(backend), () => {
    let db: TestDatabase;
    let store: Store;
    before(async () => {
      db = await createTestDatabase(backend);
      store = await Store.open(db.url);
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    test("set, get, replace, delete; one integration's keys are not another's", async () => {
      const kv = store.integrationKv;
      assert.equal(await kv.get("a", "offset"), undefined);
      await kv.set("a", "offset", 41);
      await kv.set("a", "offset", 42);
      await kv.set("b", "offset", { n: 1, list: ["x"] });
      assert.equal(await kv.get("a", "offset"), 42);
      assert.deepEqual(await kv.get("b", "offset"), { n: 1, list: ["x"] });
      await kv.set("a", "offset", undefined);
      assert.equal(await kv.get("a", "offset"), undefined);
      assert.deepEqual(await kv.get("b", "offset"), { n: 1, list: ["x"] });
    });

    test("an empty or long key, a non-JSON value or one over 64 KiB is refused", async () => {
      const kv = store.integrationKv;
      const refused = { name: "InvalidStateError" };
      await assert.rejects(kv.set("a", "", 1), refused);
      await assert.rejects(kv.set("a", "k".repeat(201), 1), refused);
      await assert.rejects(
        kv.set("a", "k", () => 1),
        refused,
      );
      await assert.rejects(kv.set("a", "k", 10n), refused);
      await assert.rejects(kv.set("a", "k", "x".repeat(64 * 1024)), refused);
      assert.equal(await kv.get("a", "k"), undefined);
    });
  });
}
