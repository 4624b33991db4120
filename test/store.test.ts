/**
 * The store's own suite: migrations, bots, sessions, messages, the task queue (claims,
 * leases, per-session order, concurrent claimers), the delivery outbox and API keys.
 * Runs on SQLite always and on PostgreSQL when `SWITCHYARD_TEST_POSTGRES_URL` is set.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import type { Scope } from "../src/sdk/scopes.ts";
import { hashApiKey, scopeAllows } from "../src/store/api-keys.ts";
import { type Repositories, Store } from "../src/store/index.ts";
import type { NewTask, Task } from "../src/store/tasks.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn, type TestDatabase } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(backend, runsOn(backend), () => {
    let tdb: TestDatabase;
    let store: Store;

    before(async () => {
      tdb = await createTestDatabase(backend);
      store = await Store.open(tdb.url);
    });
    after(async () => {
      await store?.close();
      // pg's pool.end() resolves before its sockets have closed, and drop() uses
      // DROP DATABASE … WITH (FORCE): give the connections a moment to go, or the
      // server's "terminating connection" reaches a pool with no error listener.
      if (backend === "postgres") await sleep(200);
      await tdb?.drop();
    });

    /** Claims with the store's own dialect. */
    const claim = (owner: string, limit = 10, leaseMs = 60_000): Promise<Task[]> =>
      store.taskLeases.claim(owner, limit, leaseMs);

    /** Inserts a pending task of `sessionId` (bot "b", dispatch "none"). */
    const addTask = (sessionId: string, extra: Partial<NewTask> = {}): Promise<Task> =>
      store.tasks.insert({
        sessionId,
        botId: "b",
        prompt: `prompt for ${sessionId}`,
        dispatchType: "none",
        ...extra,
      });

    const mustGetTask = async (id: string): Promise<Task> => {
      const t = await store.tasks.get(id);
      assert.ok(t, `task ${id} exists`);
      return t;
    };

    describe("migrations", () => {
      test("opening the same database again is a no-op that keeps the data", async () => {
        await store.bots.create({ id: "migrated-bot", model: "fake:model" });
        const second = await Store.open(tdb.url);
        try {
          assert.equal((await second.bots.get("migrated-bot"))?.model, "fake:model");
          const third = await Store.open(tdb.url);
          await third.close();
          const { rows } = await sql<{ n: number | string }>`
            SELECT count(*) AS n FROM switchyard_migrations`.execute(second.db.kysely);
          const { rows: names } = await sql<{ name: string }>`
            SELECT name FROM switchyard_migrations`.execute(second.db.kysely);
          assert.equal(
            Number(rows[0]!.n),
            new Set(names.map((r) => r.name)).size,
            "each migration recorded once",
          );
          assert.ok(names.some((r) => r.name === "0001_core"));
        } finally {
          await second.close();
        }
        // The first store still works after the others closed.
        assert.ok(await store.bots.get("migrated-bot"));
      });
    });

    describe("bots", () => {
      test("create, duplicate id, update, delete", async () => {
        const created = await store.bots.create({
          id: "bot-1",
          model: "openai:gpt",
          systemPrompt: "be brief",
          tools: ["http"],
          integrationConfig: { github: { repo: "o/r" } },
        });
        assert.ok(created);
        assert.equal(created.name, "bot-1", "name defaults to the id");
        assert.deepEqual(created.skills, []);
        assert.deepEqual(created.fallbackModels, []);
        assert.equal(created.displayName, null);

        const fetched = await store.bots.get("bot-1");
        assert.deepEqual(fetched, created);

        const dup = await store.bots.create({ id: "bot-1", model: "other:model", name: "X" });
        assert.equal(dup, undefined, "duplicate id → undefined");
        const afterDup = await store.bots.get("bot-1");
        assert.equal(afterDup?.model, "openai:gpt", "duplicate left the original alone");
        assert.equal(afterDup?.name, "bot-1");

        await sleep(2);
        const updated = await store.bots.update("bot-1", {
          name: "Bot One",
          skills: ["s1"],
          displayName: "B1",
        });
        assert.ok(updated);
        assert.equal(updated.name, "Bot One");
        assert.deepEqual(updated.skills, ["s1"]);
        assert.equal(updated.displayName, "B1");
        assert.equal(updated.systemPrompt, "be brief", "unnamed fields are kept");
        assert.deepEqual(updated.tools, ["http"]);
        assert.deepEqual(updated.integrationConfig, { github: { repo: "o/r" } });
        assert.equal(updated.createdAt, created.createdAt);
        assert.ok(updated.updatedAt > created.updatedAt);
        // A second Store (no cache) reads the same row.
        const fresh = await Store.open(tdb.url);
        try {
          assert.deepEqual(await fresh.bots.get("bot-1"), updated);
        } finally {
          await fresh.close();
        }

        assert.equal(await store.bots.update("no-such-bot", { name: "x" }), undefined);

        assert.ok((await store.bots.list()).some((b) => b.id === "bot-1"));
        assert.equal(await store.bots.delete("bot-1"), true);
        assert.equal(await store.bots.get("bot-1"), undefined);
        assert.equal(await store.bots.delete("bot-1"), false);
        assert.ok(!(await store.bots.list()).some((b) => b.id === "bot-1"));
      });

      test("a write in a transaction is seen after its commit, never after its rollback", async () => {
        await store.bots.create({ id: "bot-tx", model: "fake:one" });
        assert.equal((await store.bots.get("bot-tx"))?.model, "fake:one", "now cached");

        await assert.rejects(
          store.transaction(async (tx) => {
            const inside = await tx.bots.update("bot-tx", { model: "fake:rolled-back" });
            assert.equal(inside?.model, "fake:rolled-back", "the transaction sees its own write");
            throw new Error("roll back");
          }),
          /roll back/,
        );
        assert.equal((await store.bots.get("bot-tx"))?.model, "fake:one", "nothing kept");

        await store.transaction(async (tx) => {
          await tx.bots.update("bot-tx", { model: "fake:two" });
        });
        assert.equal((await store.bots.get("bot-tx"))?.model, "fake:two", "not the cached read");
        assert.equal(await store.bots.delete("bot-tx"), true);
      });
    });

    describe("sessions", () => {
      test("20 parallel getOrCreate calls make one session, one created:true", async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.sessions.getOrCreate("bot-s", "race:1")),
        );
        const ids = new Set(results.map((r) => r.session.id));
        assert.equal(ids.size, 1);
        assert.equal(results.filter((r) => r.created).length, 1);
        const { rows } = await sql<{ n: number | string }>`
          SELECT count(*) AS n FROM sessions WHERE client_id = 'race:1'`.execute(store.db.kysely);
        assert.equal(Number(rows[0]!.n), 1);
      });

      test("keyed by (bot, client); an existing session's dispatch_config is updated", async () => {
        const a = await store.sessions.getOrCreate("bot-s", "slack:C1", { type: "slack" });
        assert.equal(a.created, true);
        assert.deepEqual(a.session.dispatchConfig, { type: "slack" });
        const other = await store.sessions.getOrCreate("bot-t", "slack:C1");
        assert.equal(other.created, true);
        assert.notEqual(other.session.id, a.session.id);

        const same = await store.sessions.getOrCreate("bot-s", "slack:C1");
        assert.equal(same.created, false);
        assert.equal(same.session.id, a.session.id);
        assert.deepEqual(same.session.dispatchConfig, { type: "slack" }, "kept when none given");

        const changed = await store.sessions.getOrCreate("bot-s", "slack:C1", { type: "none" });
        assert.equal(changed.created, false);
        assert.deepEqual(changed.session.dispatchConfig, { type: "none" });
        assert.deepEqual((await store.sessions.get(a.session.id))?.dispatchConfig, {
          type: "none",
        });
        assert.equal(await store.sessions.get("00000000-0000-7000-8000-000000000000"), undefined);
      });
    });

    describe("messages", () => {
      test("messages.listRecent: newest N oldest first, and beforeId", async () => {
        const sid = "msg-session";
        const msgs = [];
        for (let i = 0; i < 6; i++) {
          msgs.push(
            await store.messages.insert({
              sessionId: sid,
              role: i % 2 === 0 ? "user" : "assistant",
              content: `m${i}`,
              metadata: { source: "test", i },
            }),
          );
        }
        await store.messages.insert({ sessionId: "other-session", role: "user", content: "x" });

        const recent = await store.messages.listRecent(sid, 3);
        assert.deepEqual(
          recent.map((m) => m.content),
          ["m3", "m4", "m5"],
        );
        assert.deepEqual(recent[0], msgs[3]);
        assert.deepEqual(recent[0]!.metadata, { source: "test", i: 3 });

        const all = await store.messages.listRecent(sid, 100);
        assert.deepEqual(
          all.map((m) => m.content),
          ["m0", "m1", "m2", "m3", "m4", "m5"],
        );

        const before4 = await store.messages.listRecent(sid, 2, msgs[4]!.id);
        assert.deepEqual(
          before4.map((m) => m.content),
          ["m2", "m3"],
        );
        const before2 = await store.messages.listRecent(sid, 10, msgs[2]!.id);
        assert.deepEqual(
          before2.map((m) => m.content),
          ["m0", "m1"],
        );
        assert.deepEqual(await store.messages.listRecent(sid, 10, msgs[0]!.id), []);
        assert.deepEqual(await store.messages.listRecent("no-such-session", 10), []);
      });
    });

    describe("tool calls", () => {
      test("recorded and listed in order", async () => {
        await store.toolCalls.insert({
          taskId: "tc-task",
          sessionId: "tc-s",
          name: "http",
          args: { url: "https://example.com" },
          result: "ok",
          status: "ok",
          durationMs: 12.6,
        });
        await store.toolCalls.insert({
          taskId: "tc-task",
          sessionId: "tc-s",
          name: "search",
          args: { q: "x" },
          result: null,
          status: "error",
          durationMs: 3,
        });
        const calls = await store.toolCalls.list("tc-task");
        assert.deepEqual(
          calls.map((c) => [c.name, c.args, c.result, c.status, c.durationMs]),
          [
            ["http", { url: "https://example.com" }, "ok", "ok", 13],
            ["search", { q: "x" }, null, "error", 3],
          ],
        );
        assert.deepEqual(await store.toolCalls.list("other-task"), []);
      });
    });

    describe("tasks", () => {
      // taskLeases.claim looks at the whole table, so each test starts from an empty one.
      beforeEach(async () => {
        await store.db.kysely.deleteFrom("tasks").execute();
      });

      test("per-session order: one running task per session, oldest first", async () => {
        const a1 = await addTask("A");
        const a2 = await addTask("A");
        const b1 = await addTask("B");
        const a3 = await addTask("A");
        const b2 = await addTask("B");

        const before = Date.now();
        const first = await claim("w1", 10, 30_000);
        assert.deepEqual(
          first.map((t) => t.id),
          [a1.id, b1.id],
        );
        for (const t of first) {
          assert.equal(t.status, "running");
          assert.equal(t.leaseOwner, "w1");
          assert.equal(t.attempts, 1);
          assert.ok(t.startedAt != null && t.startedAt >= before);
          assert.ok(t.leaseExpiresAt != null && t.leaseExpiresAt >= before + 30_000);
        }
        assert.deepEqual(await claim("w1"), [], "nothing more until those finish");
        assert.deepEqual(await claim("w2"), []);

        assert.ok(
          await store.tasks.finish(
            a1.id,
            { status: "complete", result: "r1" },
            {
              from: ["running"],
              owner: "w1",
            },
          ),
        );
        const doneA1 = await mustGetTask(a1.id);
        assert.equal(doneA1.status, "complete");
        assert.equal(doneA1.result, "r1");
        assert.equal(doneA1.leaseOwner, null);
        assert.ok(doneA1.completedAt != null);

        assert.deepEqual(
          (await claim("w2")).map((t) => t.id),
          [a2.id],
        );
        assert.deepEqual(await claim("w2"), []);

        assert.ok(
          await store.tasks.finish(
            b1.id,
            { status: "failed", error: "boom" },
            {
              from: ["running"],
              owner: "w1",
            },
          ),
        );
        assert.deepEqual(
          (await claim("w1")).map((t) => t.id),
          [b2.id],
          "a failed task does not block its session",
        );
        assert.ok(
          await store.tasks.finish(
            a2.id,
            { status: "complete" },
            {
              from: ["running"],
              owner: "w2",
            },
          ),
        );
        assert.deepEqual(
          (await claim("w1")).map((t) => t.id),
          [a3.id],
        );
        assert.ok(await store.tasks.finish(a3.id, { status: "complete" }, { from: ["running"] }));
        assert.ok(await store.tasks.finish(b2.id, { status: "complete" }, { from: ["running"] }));
        assert.deepEqual(await claim("w1"), []);
      });

      test("limit caps one claim, oldest sessions first", async () => {
        const s1 = await addTask("L1");
        const s2 = await addTask("L2");
        const s3 = await addTask("L3");
        assert.deepEqual(
          (await claim("w1", 2)).map((t) => t.id),
          [s1.id, s2.id],
        );
        assert.deepEqual(
          (await claim("w1", 2)).map((t) => t.id),
          [s3.id],
        );
      });

      test("a task whose run_at is in the future is not claimed until due", async () => {
        const later = await addTask("F1", { runAt: Date.now() + 60_000 });
        const now = await addTask("F2");
        assert.deepEqual(
          (await claim("w1")).map((t) => t.id),
          [now.id],
        );
        assert.deepEqual(await claim("w1"), []);
        assert.equal((await mustGetTask(later.id)).status, "pending");
        await store.db.kysely
          .updateTable("tasks")
          .set({ run_at: Date.now() - 1 })
          .where("id", "=", later.id)
          .execute();
        assert.deepEqual(
          (await claim("w1")).map((t) => t.id),
          [later.id],
        );
      });

      test("attempts: counted on claim, not on release, kept across expiry", async () => {
        const t = await addTask("AT");
        assert.equal(t.attempts, 0);
        assert.equal((await claim("w1"))[0]?.attempts, 1);

        assert.equal(await store.taskLeases.release(t.id, "w2"), false, "not w2's task");
        assert.equal((await mustGetTask(t.id)).status, "running");

        assert.equal(await store.taskLeases.release(t.id, "w1"), true);
        const released = await mustGetTask(t.id);
        assert.equal(released.status, "pending");
        assert.equal(released.leaseOwner, null);
        assert.equal(released.leaseExpiresAt, null);
        assert.equal(released.attempts, 0, "a release does not count the attempt");
        assert.equal(await store.taskLeases.release(t.id, "w1"), false, "no longer running");

        assert.equal((await claim("w2", 10, 1))[0]?.attempts, 1);
        await sleep(5);
        assert.deepEqual(await store.taskLeases.requeueExpired(), []);
        assert.equal((await mustGetTask(t.id)).attempts, 1);
        const again = await claim("w3");
        assert.equal(again.length, 1);
        assert.equal(again[0]!.attempts, 2);
        assert.equal(again[0]!.leaseOwner, "w3");
      });

      test("tasks.finish guard: wrong owner or wrong status → false, nothing changes", async () => {
        const t = await addTask("G");
        await claim("w1");
        const running = await mustGetTask(t.id);

        assert.equal(
          await store.tasks.finish(
            t.id,
            { status: "complete", result: "x" },
            {
              from: ["running"],
              owner: "w2",
            },
          ),
          false,
        );
        assert.deepEqual(await mustGetTask(t.id), running, "wrong owner changed nothing");
        assert.equal(
          await store.tasks.finish(t.id, { status: "complete" }, { from: ["pending"] }),
          false,
        );
        assert.deepEqual(await mustGetTask(t.id), running);

        // A cancel (no owner) wins; the worker's late completion then fails.
        assert.equal(
          await store.tasks.finish(
            t.id,
            { status: "cancelled", error: "by user" },
            {
              from: ["pending", "running"],
            },
          ),
          true,
        );
        const cancelled = await mustGetTask(t.id);
        assert.equal(cancelled.status, "cancelled");
        assert.equal(cancelled.error, "by user");
        assert.equal(
          await store.tasks.finish(
            t.id,
            { status: "complete", result: "late" },
            {
              from: ["running"],
              owner: "w1",
            },
          ),
          false,
        );
        assert.deepEqual(await mustGetTask(t.id), cancelled, "the cancelled task is untouched");
        assert.equal(
          await store.tasks.finish("no-such-task", { status: "complete" }, { from: ["running"] }),
          false,
        );
      });

      test("taskLeases.renewLeases renews running tasks held under the named lease tokens", async () => {
        const t1 = await addTask("R1");
        const t2 = await addTask("R2");
        const t4 = await addTask("R4");
        assert.equal((await claim("w1", 10, 1_000)).length, 3);
        const t3 = await addTask("R3");
        assert.equal((await claim("w2", 10, 1_000)).length, 1);
        assert.ok(await store.tasks.finish(t4.id, { status: "complete" }, { from: ["running"] }));

        const before3 = await mustGetTask(t3.id);
        const start = Date.now();
        const renewed = await store.taskLeases.renewLeases(["w1", "missing"], 60_000);
        assert.deepEqual(renewed.sort(), [t1.id, t2.id].sort(), "w1's running tasks, by id");
        for (const id of [t1.id, t2.id]) {
          const t = await mustGetTask(id);
          assert.ok(t.leaseExpiresAt! >= start + 60_000, "renewed");
          assert.equal(t.leaseOwner, "w1");
        }
        assert.deepEqual(await mustGetTask(t3.id), before3, "t3 is w2's: unchanged");
        assert.equal((await mustGetTask(t4.id)).leaseExpiresAt, null, "finished: not renewed");
        assert.deepEqual(await store.taskLeases.renewLeases([], 60_000), []);
        // A task of the same claim cancelled meanwhile is absent although its token is renewed.
        assert.ok(await store.tasks.finish(t1.id, { status: "cancelled" }, { from: ["running"] }));
        assert.deepEqual(await store.taskLeases.renewLeases(["w1"], 60_000), [t2.id]);
      });

      test("taskLeases.requeueExpired: attempts left → pending; none left → returned", async () => {
        const x = await addTask("E1", { maxAttempts: 3 });
        const y = await addTask("E2", { maxAttempts: 1 });
        assert.equal((await claim("w1", 10, 1)).length, 2);
        const z = await addTask("E3", { maxAttempts: 1 });
        assert.deepEqual(
          (await claim("w2", 10, 60_000)).map((t) => t.id),
          [z.id],
        );
        await sleep(5);

        const exhausted = await store.taskLeases.requeueExpired();
        assert.deepEqual(
          exhausted.map((t) => t.id),
          [y.id],
        );
        assert.equal(exhausted[0]!.status, "running");
        assert.equal(exhausted[0]!.attempts, 1);

        const xr = await mustGetTask(x.id);
        assert.equal(xr.status, "pending");
        assert.equal(xr.leaseOwner, null);
        assert.equal(xr.leaseExpiresAt, null);
        assert.equal(xr.attempts, 1);
        const yr = await mustGetTask(y.id);
        assert.equal(yr.status, "running", "left running for the caller to fail");
        assert.equal(yr.leaseOwner, "w1");
        const zr = await mustGetTask(z.id);
        assert.equal(zr.status, "running", "an unexpired lease is untouched");
        assert.equal(zr.leaseOwner, "w2");

        // Still reported until the caller fails it.
        assert.deepEqual(
          (await store.taskLeases.requeueExpired()).map((t) => t.id),
          [y.id],
        );
        assert.ok(
          await store.tasks.finish(
            y.id,
            { status: "failed", error: "lease expired" },
            {
              from: ["running"],
            },
          ),
        );
        assert.deepEqual(await store.taskLeases.requeueExpired(), []);

        const reclaimed = await claim("w3");
        assert.deepEqual(
          reclaimed.map((t) => [t.id, t.attempts]),
          [[x.id, 2]],
        );
      });

      test("4 concurrent claimers: each task once, never two of a session at a time", async () => {
        const SESSIONS = 10;
        const PER_SESSION = 5;
        const order = new Map<string, string[]>();
        for (let i = 0; i < PER_SESSION; i++) {
          for (let s = 0; s < SESSIONS; s++) {
            const sid = `C${s}`;
            const t = await addTask(sid);
            if (!order.has(sid)) order.set(sid, []);
            order.get(sid)!.push(t.id);
          }
        }
        const total = SESSIONS * PER_SESSION;

        // On PostgreSQL each claimer gets its own (small) pool, so claims really race.
        const extra: Store[] = [];
        const stores: Store[] = [];
        for (let i = 0; i < 4; i++) {
          if (backend === "postgres") {
            const s = await Store.open(tdb.url, { poolSize: 2 });
            extra.push(s);
            stores.push(s);
          } else {
            stores.push(store);
          }
        }

        const claimCount = new Map<string, number>();
        const running = new Set<string>();
        const overlaps: string[] = [];
        const finished = new Map<string, string[]>();
        let done = 0;
        const deadline = Date.now() + 30_000;

        const claimer = async (i: number): Promise<void> => {
          const s = stores[i]!;
          const owner = `claimer-${i}`;
          while (done < total) {
            if (Date.now() > deadline) throw new Error(`timed out with ${done}/${total} done`);
            const got = await s.taskLeases.claim(owner, 3, 30_000);
            if (got.length === 0) {
              await sleep(1);
              continue;
            }
            for (const t of got) {
              claimCount.set(t.id, (claimCount.get(t.id) ?? 0) + 1);
              if (running.has(t.sessionId)) overlaps.push(`${t.sessionId} (claim of ${t.id})`);
              running.add(t.sessionId);
            }
            const { rows } = await sql<{ session_id: string }>`
              SELECT session_id FROM tasks WHERE status = 'running'
              GROUP BY session_id HAVING count(*) > 1`.execute(s.db.kysely);
            for (const r of rows) overlaps.push(`${r.session_id} (seen in the table)`);
            for (const t of got) {
              await sleep(Math.random() * 2);
              // Leave the session before the finish commits: the next task of the
              // session may be claimed as soon as it does.
              running.delete(t.sessionId);
              if (!finished.has(t.sessionId)) finished.set(t.sessionId, []);
              finished.get(t.sessionId)!.push(t.id);
              const ok = await s.tasks.finish(
                t.id,
                { status: "complete" },
                {
                  from: ["running"],
                  owner,
                },
              );
              assert.ok(ok, `${owner} finishes ${t.id}`);
              done++;
            }
          }
        };

        try {
          await Promise.all([0, 1, 2, 3].map(claimer));
        } finally {
          for (const s of extra) await s.close();
        }

        assert.deepEqual(overlaps, [], "never two running tasks of one session");
        assert.equal(claimCount.size, total, "every task claimed");
        for (const [id, n] of claimCount) assert.equal(n, 1, `${id} claimed once`);
        assert.deepEqual(finished, order, "each session ran its tasks in order");
        const rows = await store.db.kysely
          .selectFrom("tasks")
          .select(["status", "attempts"])
          .execute();
        assert.equal(rows.length, total);
        for (const r of rows) {
          assert.equal(r.status, "complete");
          assert.equal(Number(r.attempts), 1);
        }
      });
    });

    describe("deliveries", () => {
      beforeEach(async () => {
        await store.db.kysely.deleteFrom("deliveries").execute();
      });

      const newDelivery = (taskId: string | null = null) =>
        store.deliveries.insert({
          taskId,
          targetType: "webhook",
          target: { url: "https://example.com/hook" },
          payload: { text: "hello" },
        });
      const claimD = (owner: string, leaseMs = 60_000) =>
        store.deliveries.claimDue(owner, 10, leaseMs);

      test("insert, claim with a lease, not reclaimed until the lease expires", async () => {
        const id = await newDelivery("task-1");
        const d = await store.deliveries.get(id);
        assert.ok(d);
        assert.equal(d.status, "pending");
        assert.equal(d.attempts, 0);
        assert.equal(d.taskId, "task-1");
        assert.deepEqual(d.target, { url: "https://example.com/hook" });
        assert.deepEqual(d.payload, { text: "hello" });

        const first = await claimD("d1", 60_000);
        assert.deepEqual(
          first.map((x) => [x.id, x.attempts]),
          [[id, 1]],
        );
        assert.deepEqual(await claimD("d2"), [], "leased: not claimed again");

        // A second delivery leased for 1 ms is claimable again once that lease runs out.
        const short = await newDelivery("task-2");
        assert.deepEqual(
          (await claimD("d1", 1)).map((x) => x.id),
          [short],
        );
        await sleep(5);
        const second = await claimD("d2", 60_000);
        assert.deepEqual(
          second.map((x) => [x.id, x.attempts]),
          [[short, 2]],
          "claimed again once the lease expired; the other is still leased",
        );
        assert.deepEqual(await claimD("d1"), []);

        // The expired claimer's outcome is ignored; the current one's counts.
        await store.deliveries.recordAttempt(short, "d1", {
          status: "delivered",
          httpStatus: 200,
        });
        assert.equal((await store.deliveries.get(short))?.status, "pending");
        await store.deliveries.recordAttempt(short, "d2", {
          status: "delivered",
          httpStatus: 204,
        });
        await store.deliveries.recordAttempt(id, "d1", { status: "delivered", httpStatus: 204 });
        const delivered = await store.deliveries.get(short);
        assert.equal(delivered?.status, "delivered");
        assert.equal(delivered?.lastStatus, 204);
        assert.equal(delivered?.lastError, null);
        assert.ok(delivered?.deliveredAt != null);
        assert.equal((await store.deliveries.get(id))?.status, "delivered");
        assert.deepEqual(await claimD("d3"), [], "delivered: never claimed");
      });

      test("failed retries at next_attempt_at; dead is final until replayed", async () => {
        const id = await newDelivery();
        assert.equal((await claimD("d1")).length, 1);
        const retryAt = Date.now() + 60_000;
        await store.deliveries.recordAttempt(id, "d1", {
          status: "failed",
          nextAttemptAt: retryAt,
          httpStatus: 503,
          error: "Service Unavailable",
        });
        const failed = await store.deliveries.get(id);
        assert.equal(failed?.status, "failed");
        assert.equal(failed?.nextAttemptAt, retryAt);
        assert.equal(failed?.lastStatus, 503);
        assert.equal(failed?.lastError, "Service Unavailable");
        assert.equal(failed?.attempts, 1);
        assert.equal(failed?.nextAttemptAt, retryAt);
        assert.deepEqual(await claimD("d2"), [], "next_attempt_at in the future: not claimed");

        await store.db.kysely
          .updateTable("deliveries")
          .set({ next_attempt_at: Date.now() - 1 })
          .where("id", "=", id)
          .execute();
        const retried = await claimD("d2");
        assert.deepEqual(
          retried.map((x) => [x.id, x.attempts]),
          [[id, 2]],
        );
        await store.deliveries.recordAttempt(id, "d2", {
          status: "dead",
          httpStatus: 410,
          error: "Gone",
        });
        const dead = await store.deliveries.get(id);
        assert.equal(dead?.status, "dead");
        assert.equal(dead?.lastError, "Gone");
        assert.equal(dead?.deliveredAt, null);
        assert.deepEqual(await claimD("d3"), [], "dead: not claimed");

        assert.equal(await store.deliveries.replay(id), true);
        const replayed = await store.deliveries.get(id);
        assert.equal(replayed?.id, id, "a replay keeps the id");
        assert.equal(replayed?.status, "pending");
        const reclaimed = await claimD("d3");
        assert.deepEqual(
          reclaimed.map((x) => x.id),
          [id],
        );
        assert.equal(await store.deliveries.replay("00000000-0000-7000-8000-000000000000"), false);
      });

      test("deliveries.list filters by status and task, newest first", async () => {
        const a = await newDelivery("t-a");
        const b = await newDelivery("t-b");
        const c = await newDelivery("t-a");
        assert.equal((await claimD("d1")).length, 3);
        await store.deliveries.recordAttempt(a, "d1", { status: "delivered" });
        await store.deliveries.recordAttempt(b, "d1", { status: "dead", error: "x" });
        await store.deliveries.recordAttempt(c, "d1", { status: "delivered" });

        assert.deepEqual(
          (await store.deliveries.list({})).map((d) => d.id),
          [c, b, a],
        );
        assert.deepEqual(
          (await store.deliveries.list({ status: "delivered" })).map((d) => d.id),
          [c, a],
        );
        assert.deepEqual(
          (await store.deliveries.list({ status: "dead" })).map((d) => d.id),
          [b],
        );
        assert.deepEqual(await store.deliveries.list({ status: "pending" }), []);
        assert.deepEqual(
          (await store.deliveries.list({ taskId: "t-a" })).map((d) => d.id),
          [c, a],
        );
        assert.deepEqual(
          (await store.deliveries.list({ limit: 1 })).map((d) => d.id),
          [c],
        );
      });
    });

    describe("api keys", () => {
      test("the clear key is returned once; only its sha256 is stored", async () => {
        const { record, key } = await store.apiKeys.create("ci", ["tasks:write"]);
        assert.match(key, /^sy_[A-Za-z0-9_-]{43}$/);
        assert.equal(record.name, "ci");
        assert.deepEqual(record.scopes, ["tasks:write"]);

        const rows = await store.db.kysely.selectFrom("api_keys").selectAll().execute();
        const row = rows.find((r) => r.id === record.id);
        assert.ok(row);
        const expected = createHash("sha256").update(key).digest("hex");
        assert.equal(row.key_hash, expected);
        assert.equal(hashApiKey(key), expected);
        for (const r of rows) {
          assert.ok(!JSON.stringify(r).includes(key), "the key text is not stored");
          assert.ok(!JSON.stringify(r).includes(key.slice(3)), "nor its random part");
        }

        const found = await store.apiKeys.findByKey(key);
        assert.deepEqual(found, record);
        assert.equal(await store.apiKeys.findByKey(`${key}x`), undefined);
        assert.equal(await store.apiKeys.findByKey(expected), undefined, "the hash is no key");
        assert.equal(await store.apiKeys.existsNamed("ci"), true);
        assert.equal(await store.apiKeys.existsNamed("nobody"), false);

        const given = await store.apiKeys.create("given", ["admin"], "sy_given-key");
        assert.equal(given.key, "sy_given-key");
        assert.deepEqual((await store.apiKeys.findByKey("sy_given-key"))?.scopes, ["admin"]);

        await store.db.kysely
          .updateTable("api_keys")
          .set({ revoked_at: Date.now() })
          .where("id", "=", record.id)
          .execute();
        assert.equal(await store.apiKeys.findByKey(key), undefined, "revoked");
        assert.equal(await store.apiKeys.existsNamed("ci"), false);
      });

      test("scopeAllows: write implies read, admin implies all, read not write", () => {
        const cases: Array<[string[], Scope, boolean]> = [
          [["tasks:read"], "tasks:read", true],
          [["tasks:write"], "tasks:read", true],
          [["tasks:write"], "tasks:write", true],
          [["tasks:read"], "tasks:write", false],
          [["tasks:write"], "sessions:read", false],
          [["sessions:write"], "tasks:write", false],
          [["admin"], "tasks:write", true],
          [["admin"], "webhooks:read", true],
          [["admin"], "admin", true],
          [["tasks:write", "sessions:write"], "admin", false],
          [[], "sessions:read", false],
        ];
        for (const [granted, required, allowed] of cases) {
          assert.equal(
            scopeAllows(granted, required),
            allowed,
            `${JSON.stringify(granted)} → ${required}`,
          );
        }
      });
    });

    describe("transactions", () => {
      /** Writes one row through each of several repositories of `tx`. */
      const writeAll = async (tx: Repositories, tag: string) => {
        const m = await tx.messages.insert({ sessionId: `tx-${tag}`, role: "user", content: tag });
        const t = await tx.tasks.insert({
          sessionId: `tx-${tag}`,
          botId: "b",
          messageId: m.id,
          prompt: tag,
          dispatchType: "none",
          runAt: Date.now() + 3600_000,
        });
        await tx.deliveries.insert({
          taskId: t.id,
          targetType: "webhook",
          target: {},
          payload: {},
        });
        assert.equal(await tx.receipts.claim("tx-test", tag), undefined);
        await tx.integrationSettings.put(`tx-${tag}`, { KEY: tag });
        await tx.documents.insert(
          {
            id: `00000000-0000-7000-8000-00000000000${tag === "kept" ? 1 : 2}`,
            title: tag,
            content: tag,
            integrationId: null,
            sessionId: null,
            metadata: {},
            createdAt: Date.now(),
          },
          [{ index: 0, content: tag }],
          { kind: "none" },
        );
        return t.id;
      };
      /** What of `tag`'s writes is stored, as the store's own repositories read it. */
      const stored = async (tag: string, taskId: string) => ({
        messages: (await store.messages.listRecent(`tx-${tag}`, 10)).length,
        task: (await store.tasks.get(taskId)) !== undefined,
        deliveries: (await store.deliveries.list({ taskId })).length,
        receiptTaken: (await store.receipts.claim("tx-test", tag)) !== undefined,
        settings: await store.integrationSettings.get(`tx-${tag}`),
        document: (
          await store.documents.get(`00000000-0000-7000-8000-00000000000${tag === "kept" ? 1 : 2}`)
        )?.title,
      });

      test("the repositories of a transaction write together or not at all", async () => {
        let rolledBack = "";
        await assert.rejects(
          store.transaction(async (tx) => {
            rolledBack = await writeAll(tx, "gone");
            throw new Error("roll back");
          }),
          /roll back/,
        );
        assert.deepEqual(await stored("gone", rolledBack), {
          messages: 0,
          task: false,
          deliveries: 0,
          receiptTaken: false,
          settings: {},
          document: undefined,
        });

        const kept = await store.transaction((tx) => writeAll(tx, "kept"));
        assert.deepEqual(await stored("kept", kept), {
          messages: 1,
          task: true,
          deliveries: 1,
          receiptTaken: true,
          settings: { KEY: "kept" },
          document: "kept",
        });
      });
    });
  });
}
