/**
 * The delivery worker and the outbox's storage at their edges (written for mutation testing,
 * `npm run mutate -- outbox`): rows as written and read back, outcomes recorded (one by one
 * and in a batch, inside a caller's transaction, atomically with their `delivery_attempts`
 * rows), replay, listings; and the worker driven directly on one SQLite store with an
 * injected clock and random source: inline sends (parked, probed, waited for), the retry
 * schedule and its wake-up, dead after the last attempt, the circuit breaker's inputs, the
 * per-destination slots, claims with their caps and resumed leases, `onPoke`, `stop`. Fast:
 * no app, no HTTP server; every wait is a poll for an outcome.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino, { type Logger } from "pino";
import { noteExchange } from "../src/outbox/attempt-exchanges.ts";
import type { AttemptOutcome, DeliverySender } from "../src/outbox/outcomes.ts";
import { decideRetry, type RetryPolicy } from "../src/outbox/retry-policy.ts";
import { DeliveryWorker, type DeliveryWorkerOptions } from "../src/outbox/worker.ts";
import type { Dispatcher } from "../src/sdk/dispatch.ts";
import { DeliveryError } from "../src/sdk/errors.ts";
import type { Delivery } from "../src/store/deliveries.ts";
import { Store } from "../src/store/index.ts";
import { createTestDatabase, type TestDatabase } from "./support/db.ts";
import { until } from "./support/wait.ts";

let db: TestDatabase;
let store: Store;
/** Stores of the tests that start a worker (a started worker claims every due row). */
const extra: Array<{ db: TestDatabase; store: Store }> = [];

/** A store of its own, for a test whose worker claims. */
async function freshStore(): Promise<Store> {
  const d = await createTestDatabase("sqlite");
  const s = await Store.open(d.url);
  extra.push({ db: d, store: s });
  return s;
}

before(async () => {
  db = await createTestDatabase("sqlite");
  store = await Store.open(db.url);
});
after(async () => {
  // A worker whose test failed may still hold a blocked send: do not wait for it long.
  const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
  await Promise.race([Promise.allSettled(workers.map((w) => w.stop())), pause(1_000)]);
  await store?.close();
  await db?.drop();
  for (const x of extra) {
    await x.store.close();
    await x.db.drop();
  }
});

/** The raw row of a delivery. */
const raw = (id: string) =>
  store.db.kysely
    .selectFrom("deliveries")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();

/** A unique name per call, so tests never see each other's rows. */
let seq = 0;
const uniq = (p: string) => `${p}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

/** A logger whose lines (parsed) land in `lines`. */
function capturedLog(): { log: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

/** A promise and the function that resolves it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

const noDispatchers = {
  get(type: string): Dispatcher {
    throw new DeliveryError(`no dispatcher ${type}`, { retryable: false });
  },
};

/** Every worker made here: stopped at the end even when a test failed half-way. */
const workers: DeliveryWorker[] = [];

/** A worker on the shared store; `pollMs` 60 s so only pokes and planned wake-ups run passes. */
function worker(
  opts: Partial<DeliveryWorkerOptions> = {},
): DeliveryWorker & { lines: Array<Record<string, any>> } {
  const { log, lines } = capturedLog();
  const w = new DeliveryWorker({
    store,
    dispatchers: noDispatchers,
    log,
    owner: uniq("owner"),
    pollMs: 60_000,
    ...opts,
  }) as DeliveryWorker & { lines: Array<Record<string, any>> };
  w.lines = lines;
  workers.push(w);
  return w;
}

const http503 = () => new DeliveryError("HTTP 503", { status: 503 });
const refused = () => new DeliveryError("connect ECONNREFUSED 127.0.0.1:9");
const final = () => new DeliveryError("HTTP 400", { status: 400, retryable: false });
const finalNoAnswer = () => new DeliveryError("bad target", { retryable: false });

/**
 * `s` with its claims counted (how many passes ran a claim), optionally failing, and its
 * outcome writes optionally held until `holdWrites` resolves.
 */
function watched(
  s: Store,
  opts: { fail?: boolean; holdWrites?: Promise<void> } = {},
): { store: Store; claims: () => number } {
  let claims = 0;
  const bind = (t: object, k: string | symbol) => {
    const v = Reflect.get(t, k);
    return typeof v === "function" ? v.bind(t) : v;
  };
  const deliveries = new Proxy(s.deliveries, {
    get(t, k) {
      if (k === "recordAttempts" && opts.holdWrites) {
        return async (...a: Parameters<typeof t.recordAttempts>) => {
          await opts.holdWrites;
          return t.recordAttempts(...a);
        };
      }
      if (k !== "claimDue") return bind(t, k);
      return (...a: Parameters<typeof t.claimDue>) => {
        claims++;
        if (opts.fail) return Promise.reject(new Error("database unreachable"));
        return t.claimDue(...a);
      };
    },
  });
  const store = new Proxy(s, { get: (t, k) => (k === "deliveries" ? deliveries : bind(t, k)) });
  return { store, claims: () => claims };
}

describe("deliveries store", () => {
  test("a new row: pending, due now, its fields; with a lease it is claimed (attempt 1)", async () => {
    const t0 = Date.now();
    const plain = await store.deliveries.insertRow({
      targetType: "probe",
      target: { url: "https://a.example/hook", k: 1 },
      payload: { p: [1, 2] },
    });
    const t1 = Date.now();
    const r = await raw(plain.id);
    assert.equal(r.status, "pending");
    assert.equal(Number(r.attempts), 0);
    assert.equal(r.task_id, null);
    assert.equal(r.lease_owner, null);
    assert.equal(r.lease_expires_at, null);
    assert.equal(r.subscription_id, null);
    assert.equal(r.traceparent, null);
    assert.equal(r.last_status, null);
    assert.equal(r.last_error, null);
    assert.equal(r.delivered_at, null);
    assert.match(r.destination, /^https:\/\/a\.example#[0-9a-f]{8}$/);
    assert.ok(Number(r.next_attempt_at) >= t0 && Number(r.next_attempt_at) <= t1);
    assert.equal(Number(r.created_at), Number(r.next_attempt_at));
    assert.equal(Number(r.updated_at), Number(r.next_attempt_at));
    assert.deepEqual(JSON.parse(r.target), { url: "https://a.example/hook", k: 1 });
    assert.deepEqual(JSON.parse(r.payload), { p: [1, 2] });
    // What insertRow returns is the row as read back.
    assert.deepEqual(plain, await store.deliveries.get(plain.id));

    const leased = await store.deliveries.insertRow({
      taskId: "task-1",
      targetType: "probe",
      target: {},
      payload: {},
      subscriptionId: "sub-1",
      destination: "dest:explicit",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      lease: { owner: "me", ms: 5_000 },
    });
    const l = await raw(leased.id);
    assert.equal(Number(l.attempts), 1);
    assert.equal(l.lease_owner, "me");
    assert.equal(Number(l.lease_expires_at), Number(l.created_at) + 5_000);
    assert.equal(l.task_id, "task-1");
    assert.equal(l.subscription_id, "sub-1");
    assert.equal(l.destination, "dest:explicit");
    assert.equal(l.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert.equal(l.status, "pending");
    assert.deepEqual(leased, {
      id: leased.id,
      taskId: "task-1",
      targetType: "probe",
      target: {},
      payload: {},
      status: "pending",
      attempts: 1,
      nextAttemptAt: Number(l.next_attempt_at),
      lastStatus: null,
      lastError: null,
      createdAt: Number(l.created_at),
      updatedAt: Number(l.updated_at),
      deliveredAt: null,
      subscriptionId: "sub-1",
      destination: "dest:explicit",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });
    // Without a URL the destination is the target type.
    const typed = await store.deliveries.insertRow({
      targetType: "core-x",
      target: {},
      payload: {},
    });
    assert.equal(typed.destination, "core-x");
    assert.equal(
      typeof (await store.deliveries.insert({ targetType: "x", target: {}, payload: {} })),
      "string",
    );
  });

  test("insertRows: none is a no-op; several keep their order and the caller's objects", async () => {
    assert.deepEqual(await store.deliveries.insertRows([]), []);
    const target = { a: 1 };
    const rows = await store.deliveries.insertRows([
      { targetType: "t1", target, payload: { n: 1 } },
      { targetType: "t2", target: {}, payload: { n: 2 } },
    ]);
    assert.deepEqual(
      rows.map((r) => [r.targetType, r.payload.n, r.status, r.attempts]),
      [
        ["t1", 1, "pending", 0],
        ["t2", 2, "pending", 0],
      ],
    );
    assert.equal(rows[0]!.target, target);
    assert.deepEqual(await store.deliveries.get(rows[1]!.id), rows[1]);
    assert.equal(await store.deliveries.get("no-such-delivery"), undefined);
  });

  test("recordAttempt: delivered, failed and dead, each as written; another owner's row is left alone", async () => {
    const mk = () =>
      store.deliveries.insertRow({
        targetType: "probe",
        target: {},
        payload: {},
        lease: { owner: "o1", ms: 60_000 },
      });
    const [a, b, c, d] = [await mk(), await mk(), await mk(), await mk()];
    const t0 = Date.now();
    await store.deliveries.recordAttempt(a.id, "o1", { status: "delivered", httpStatus: 201 });
    await store.deliveries.recordAttempt(b.id, "o1", {
      status: "failed",
      nextAttemptAt: t0 + 12_345,
      httpStatus: 503,
      error: "x".repeat(2500),
    });
    await store.deliveries.recordAttempt(c.id, "o1", { status: "dead", error: "gone" });
    await store.deliveries.recordAttempt(d.id, "o2", { status: "dead", error: "not mine" });
    const t1 = Date.now();
    const ra = (await store.deliveries.get(a.id))!;
    assert.equal(ra.status, "delivered");
    assert.equal(ra.lastStatus, 201);
    assert.equal(ra.lastError, null);
    assert.ok(ra.deliveredAt! >= t0 && ra.deliveredAt! <= t1);
    assert.ok(ra.nextAttemptAt >= t0 && ra.nextAttemptAt <= t1);
    assert.ok(ra.updatedAt >= t0 && ra.updatedAt <= t1);
    const rawA = await raw(a.id);
    assert.equal(rawA.lease_owner, null);
    assert.equal(rawA.lease_expires_at, null);
    const rb = (await store.deliveries.get(b.id))!;
    assert.equal(rb.status, "failed");
    assert.equal(rb.nextAttemptAt, t0 + 12_345);
    assert.equal(rb.lastStatus, 503);
    assert.equal(rb.lastError, "x".repeat(2000), "the error is cut to 2000 characters");
    assert.equal(rb.deliveredAt, null);
    const rc = (await store.deliveries.get(c.id))!;
    assert.equal(rc.status, "dead");
    assert.equal(rc.lastStatus, null);
    assert.equal(rc.lastError, "gone");
    assert.equal(rc.deliveredAt, null);
    assert.ok(rc.nextAttemptAt >= t0 && rc.nextAttemptAt <= t1);
    const rd = await raw(d.id);
    assert.equal(rd.status, "pending");
    assert.equal(rd.lease_owner, "o1");
  });

  test("recordAttempts: delivered grouped by status, the others one by one, attempt rows with details", async () => {
    const mk = (owner = "ob") =>
      store.deliveries.insertRow({
        targetType: "probe",
        target: {},
        payload: {},
        lease: { owner, ms: 60_000 },
      });
    const [a, b, c, d, e, f] = [
      await mk(),
      await mk(),
      await mk(),
      await mk(),
      await mk(),
      await mk("other"),
    ];
    const details = (attempt: number) => ({
      attempt,
      startedAt: 1_700_000_000_000.4,
      durationMs: 12.6,
      requests: 2,
      last: {
        method: "POST",
        url: "https://r.example",
        responseStatus: 202,
        requestHeaders: { "content-type": "application/json" },
        responseExcerpt: "ok",
        responseTruncated: true,
      },
    });
    const t0 = Date.now();
    await store.deliveries.recordAttempts("ob", [
      { id: a.id, status: "delivered", httpStatus: 200, details: details(1) },
      { id: b.id, status: "delivered", httpStatus: 204 },
      { id: c.id, status: "delivered" },
      {
        id: d.id,
        status: "failed",
        nextAttemptAt: t0 + 9_000,
        error: "HTTP 503",
        httpStatus: 503,
        details: { ...details(3), last: null, requests: 0 },
      },
      { id: e.id, status: "dead", error: "HTTP 410", httpStatus: 410 },
      { id: f.id, status: "delivered", httpStatus: 200 },
    ]);
    const t1 = Date.now();
    const get = async (id: string) => (await store.deliveries.get(id))!;
    const [ra, rb, rc, rd, re, rf] = [
      await get(a.id),
      await get(b.id),
      await get(c.id),
      await get(d.id),
      await get(e.id),
      await get(f.id),
    ];
    assert.deepEqual(
      [ra, rb, rc, rd, re, rf].map((r) => [r.status, r.lastStatus, r.lastError]),
      [
        ["delivered", 200, null],
        ["delivered", 204, null],
        ["delivered", null, null],
        ["failed", 503, "HTTP 503"],
        ["dead", 410, "HTTP 410"],
        ["pending", null, null],
      ],
    );
    for (const r of [ra, rb, rc]) {
      assert.ok(r.deliveredAt! >= t0 && r.deliveredAt! <= t1, "delivered_at is now");
      assert.equal(r.nextAttemptAt, r.deliveredAt);
      assert.equal(r.updatedAt, r.deliveredAt);
      const x = await raw(r.id);
      assert.equal(x.lease_owner, null);
      assert.equal(x.lease_expires_at, null);
    }
    assert.equal(rd.nextAttemptAt, t0 + 9_000);
    assert.equal((await raw(f.id)).lease_owner, "other", "another owner's row is left alone");

    const attemptsA = await store.deliveryAttempts.list(a.id);
    assert.equal(attemptsA.length, 1);
    assert.deepEqual(
      { ...attemptsA[0]!, id: undefined },
      {
        id: undefined,
        deliveryId: a.id,
        attempt: 1,
        startedAt: 1_700_000_000_000,
        durationMs: 13,
        status: "delivered",
        httpStatus: 200,
        error: null,
        requests: 2,
        last: { ...details(1).last, responseStatus: 200 },
      },
    );
    const attemptsD = await store.deliveryAttempts.list(d.id);
    assert.deepEqual(
      attemptsD.map((x) => [x.attempt, x.status, x.httpStatus, x.error, x.requests, x.last]),
      [[3, "failed", 503, "HTTP 503", 0, null]],
    );
    assert.equal((await store.deliveryAttempts.list(b.id)).length, 0, "no details, no attempt row");
  });

  test("recordAttempts joins the caller's transaction, and an outcome is written with its attempt row or not at all", async () => {
    const a = await store.deliveries.insertRow({
      targetType: "probe",
      target: {},
      payload: {},
      lease: { owner: "tx", ms: 60_000 },
    });
    await store.transaction((tx) =>
      tx.deliveries.recordAttempts("tx", [{ id: a.id, status: "delivered", httpStatus: 200 }]),
    );
    assert.equal((await store.deliveries.get(a.id))!.status, "delivered");

    const b = await store.deliveries.insertRow({
      targetType: "probe",
      target: {},
      payload: {},
      lease: { owner: "tx", ms: 60_000 },
    });
    // An attempt row the database refuses (no attempt number): the outcome is rolled back.
    await assert.rejects(
      store.deliveries.recordAttempts("tx", [
        {
          id: b.id,
          status: "dead",
          error: "x",
          details: {
            attempt: null as unknown as number,
            startedAt: 1,
            durationMs: 1,
            requests: 0,
            last: null,
          },
        },
      ]),
    );
    const rb = await raw(b.id);
    assert.equal(rb.status, "pending");
    assert.equal(rb.lease_owner, "tx");
  });

  test("replay: a finished or failed row is due again from attempt 0; pending, leased or unknown rows are not", async () => {
    const mk = () =>
      store.deliveries.insertRow({
        targetType: "probe",
        target: {},
        payload: {},
        lease: { owner: "rp", ms: 60_000 },
      });
    const [a, b, c, pend, busy] = [await mk(), await mk(), await mk(), await mk(), await mk()];
    await store.deliveries.recordAttempts("rp", [
      { id: a.id, status: "delivered" },
      { id: b.id, status: "failed", nextAttemptAt: Date.now() + 3_600_000, error: "e" },
      { id: c.id, status: "dead", error: "e" },
    ]);
    // A failed row whose lease is still running: in flight elsewhere.
    await store.db.kysely
      .updateTable("deliveries")
      .set({ status: "failed" })
      .where("id", "=", busy.id)
      .execute();
    // A pending row not leased.
    await store.db.kysely
      .updateTable("deliveries")
      .set({ lease_owner: null, lease_expires_at: null })
      .where("id", "=", pend.id)
      .execute();
    const t0 = Date.now();
    assert.equal(await store.deliveries.replay(a.id), true);
    assert.equal(await store.deliveries.replay(b.id), true);
    assert.equal(await store.deliveries.replay(c.id), true);
    assert.equal(await store.deliveries.replay(pend.id), false);
    assert.equal(await store.deliveries.replay(busy.id), false);
    assert.equal(await store.deliveries.replay("no-such"), false);
    const t1 = Date.now();
    for (const id of [a.id, b.id, c.id]) {
      const r = await raw(id);
      assert.equal(r.status, "pending");
      assert.equal(Number(r.attempts), 0);
      assert.ok(Number(r.next_attempt_at) >= t0 && Number(r.next_attempt_at) <= t1);
      assert.equal(Number(r.updated_at), Number(r.next_attempt_at));
      assert.equal(r.lease_owner, null);
      assert.equal(r.lease_expires_at, null);
    }
    assert.equal((await raw(busy.id)).status, "failed");
    // A failed row whose lease ran out may be replayed.
    await store.db.kysely
      .updateTable("deliveries")
      .set({ lease_expires_at: Date.now() - 1 })
      .where("id", "=", busy.id)
      .execute();
    assert.equal(await store.deliveries.replay(busy.id), true);
  });

  test("list filters, pages and caps; listUpdatedSince; counts by status and destination", async () => {
    const odb = await createTestDatabase("sqlite");
    const other = await Store.open(odb.url);
    try {
      const d = other.deliveries;
      const rows = await d.insertRows([
        {
          taskId: "t1",
          targetType: "ta",
          target: {},
          payload: {},
          subscriptionId: "s1",
          destination: "d1",
        },
        {
          taskId: "t2",
          targetType: "tb",
          target: {},
          payload: {},
          destination: "d1",
          lease: { owner: "x", ms: 60_000 },
        },
        { taskId: "t1", targetType: "tb", target: {}, payload: {}, destination: "d2" },
      ]);
      const [r1, r2, r3] = rows as [Delivery, Delivery, Delivery];
      await d.recordAttempt(r2.id, "x", { status: "dead", error: "e" });
      const ids = async (f: Parameters<typeof d.list>[0]) => (await d.list(f)).map((r) => r.id);
      assert.deepEqual(await ids({}), [r3.id, r2.id, r1.id], "newest first");
      assert.deepEqual(await ids({ status: "dead" }), [r2.id]);
      assert.deepEqual(await ids({ taskId: "t1" }), [r3.id, r1.id]);
      assert.deepEqual(await ids({ subscriptionId: "s1" }), [r1.id]);
      assert.deepEqual(await ids({ targetType: "tb" }), [r3.id, r2.id]);
      assert.deepEqual(await ids({ destination: "d2" }), [r3.id]);
      assert.deepEqual(await ids({ before: r3.id }), [r2.id, r1.id]);
      assert.deepEqual(await ids({ limit: 1 }), [r3.id]);

      assert.deepEqual(
        (await d.countByStatus()).sort((a, b) => a.status.localeCompare(b.status)),
        [
          { status: "dead", count: 1 },
          { status: "pending", count: 2 },
        ],
      );
      // A leased waiting row, a failed one and one delivered (not counted).
      const more = await d.insertRows([
        {
          targetType: "tc",
          target: {},
          payload: {},
          destination: "d2",
          lease: { owner: "y", ms: 60_000 },
        },
        {
          targetType: "tc",
          target: {},
          payload: {},
          destination: "d3",
          lease: { owner: "y", ms: 60_000 },
        },
      ]);
      await d.recordAttempt(more[1]!.id, "y", { status: "delivered" });
      assert.deepEqual(await d.countByDestination(), [
        { destination: "d1", waiting: 1, leased: 0 },
        { destination: "d2", waiting: 2, leased: 1 },
      ]);

      // updated_at pinned: the boundary is included, oldest first then by id, capped.
      const k = other.db.kysely;
      await k.updateTable("deliveries").set({ updated_at: 100 }).where("id", "=", r1.id).execute();
      await k
        .updateTable("deliveries")
        .set({ updated_at: 200 })
        .where("id", "in", [r2.id, r3.id])
        .execute();
      await k
        .updateTable("deliveries")
        .set({ updated_at: 150 })
        .where(
          "id",
          "in",
          more.map((m) => m.id),
        )
        .execute();
      const since = async (t: number, n: number) =>
        (await d.listUpdatedSince(t, n)).map((r) => r.id);
      assert.deepEqual(await since(200, 10), [r2.id, r3.id]);
      assert.deepEqual(await since(101, 10), [...more.map((m) => m.id), r2.id, r3.id]);
      assert.deepEqual(await since(0, 1), [r1.id]);

      // The default page is 100 rows.
      await d.insertRows(
        Array.from({ length: 100 }, () => ({ targetType: "bulk", target: {}, payload: {} })),
      );
      assert.equal((await d.list({})).length, 100);
      assert.equal((await d.list({ limit: 105 })).length, 105);
    } finally {
      await other.close();
      await odb.drop();
    }
  });
});

/** Polls the row until its status is one of `want`. */
const rowWhen = (id: string, want: string[], s: Store = store) =>
  until(
    async () => {
      const r = await s.deliveries.get(id);
      return r && want.includes(r.status) ? r : undefined;
    },
    `delivery ${id} to be ${want.join("/")}`,
    5_000,
  );

describe("delivery worker: inline sends", () => {
  test("defaults: a failed send retries after the first step (5 s ± 20 %) on the real clock", async () => {
    const { log } = capturedLog();
    const w = new DeliveryWorker({ store, dispatchers: noDispatchers, log, owner: uniq("o") });
    w.registerSender("probe", async () => {
      throw http503();
    });
    const t0 = Date.now();
    const { delivery, outcome } = await w.sendNow({
      targetType: "probe",
      target: {},
      payload: {},
      destination: uniq("d"),
    });
    const t1 = Date.now();
    assert.equal(outcome.status, "failed");
    assert.equal(outcome.httpStatus, 503);
    const r = await raw(delivery.id);
    assert.equal(r.status, "failed");
    const at = Number(r.next_attempt_at);
    assert.ok(at >= t0 + 4_000 && at <= t1 + 6_000, `retry in 4–6 s, got ${at - t0}`);
    await w.stop();
  });

  test("delivered: the sender's status is recorded, with an attempt row of its last HTTP request", async () => {
    const T0 = 1_000_000_000_000;
    const seen: AttemptOutcome[] = [];
    const w = worker({ now: () => T0, onOutcome: (_d, o) => void seen.push(o) });
    w.registerSender("probe", async (d, signal) => {
      assert.ok(signal instanceof AbortSignal);
      assert.equal(d.attempts, 1);
      await new Promise((r) => setTimeout(r, 30));
      noteExchange({
        method: "get",
        url: new URL("https://first.example/x"),
        headers: {},
        status: 500,
      });
      noteExchange({
        method: "put",
        url: new URL("https://second.example/x"),
        headers: {},
        status: null,
      });
      noteExchange({
        method: "post",
        url: new URL("https://u:p@last.example:8443/path?q=1"),
        headers: { Authorization: "Bearer s3cret", "X-Kind": "k" },
        status: 202,
        body: "accepted",
      });
      return { httpStatus: 202 };
    });
    const t0 = Date.now();
    const p0 = performance.now();
    const { delivery, outcome } = await w.sendNow({
      targetType: "probe",
      target: {},
      payload: {},
      destination: uniq("d"),
    });
    const took = performance.now() - p0;
    const t1 = Date.now();
    assert.equal(outcome.status, "delivered");
    assert.equal(outcome.httpStatus, 202);
    assert.ok(
      outcome.durationMs >= 25 && outcome.durationMs <= took,
      `durationMs ${outcome.durationMs}, sendNow took ${took}`,
    );
    assert.equal(delivery.attempts, 1, "written leased: attempt 1");
    // Written before sendNow resolves (awaitOutcomes defaults to true).
    const r = (await store.deliveries.get(delivery.id))!;
    assert.equal(r.status, "delivered");
    assert.equal(r.lastStatus, 202);
    assert.deepEqual(seen, [outcome]);
    const [a, ...rest] = await store.deliveryAttempts.list(delivery.id);
    assert.equal(rest.length, 0);
    assert.equal(a!.attempt, 1);
    assert.equal(a!.status, "delivered");
    assert.equal(a!.error, null);
    assert.equal(a!.requests, 3);
    assert.ok(a!.startedAt >= t0 && a!.startedAt <= t1);
    assert.ok(a!.durationMs >= 25 && a!.durationMs <= Math.round(took));
    assert.deepEqual(a!.last, {
      method: "POST",
      url: "https://last.example:8443",
      responseStatus: 202,
      requestHeaders: { authorization: "****", "x-kind": "k" },
      responseExcerpt: "accepted",
      responseTruncated: false,
    });
    // A sender that returns nothing: no status; no request, no `last`.
    w.registerSender("quiet", async () => {});
    const q = await w.sendNow({
      targetType: "quiet",
      target: {},
      payload: {},
      destination: uniq("d"),
    });
    assert.equal(q.outcome.status, "delivered");
    assert.equal(q.outcome.httpStatus, null);
    const [qa] = await store.deliveryAttempts.list(q.delivery.id);
    assert.equal(qa!.requests, 0);
    assert.equal(qa!.last, null);
    await w.stop();
  });

  test("failed: next attempt at the pinned clock + the jittered step, logged; dead after the last step", async () => {
    const T0 = 1_000_000_000_000;
    const s = await freshStore();
    const rnd = [0, 1];
    let i = 0;
    const w = worker({
      now: () => T0,
      random: () => rnd[i++ % 2]!,
      scheduleMs: [1_000, 2_000],
      jitter: 0.5,
      store: s,
    });
    w.registerSender("probe", async () => {
      throw http503();
    });
    const { delivery, outcome } = await w.sendNow({
      targetType: "probe",
      target: {},
      payload: {},
      destination: uniq("d"),
    });
    assert.deepEqual(
      { ...outcome, durationMs: 0 },
      {
        status: "failed",
        httpStatus: 503,
        error: "HTTP 503",
        nextAttemptAt: T0 + 500,
        durationMs: 0,
      },
    );
    let r = (await s.deliveries.get(delivery.id))!;
    assert.equal(r.status, "failed");
    assert.equal(r.nextAttemptAt, T0 + 500, "random 0: step × (1 − jitter)");
    assert.equal(r.lastError, "HTTP 503");
    const info = w.lines.find((l) => l.msg === "delivery failed; will retry");
    assert.deepEqual(
      {
        id: info?.delivery_id,
        attempts: info?.attempts,
        at: info?.retry_at,
        err: info?.error,
        level: info?.level,
      },
      { id: delivery.id, attempts: 1, at: T0 + 500, err: "HTTP 503", level: 30 },
    );
    const [a1] = await s.deliveryAttempts.list(delivery.id);
    assert.deepEqual([a1!.status, a1!.httpStatus, a1!.error], ["failed", 503, "HTTP 503"]);

    // Attempt 2 (claimed by the worker: due at T0 + 500, long past), then 3 = dead.
    w.start();
    r = await rowWhen(delivery.id, ["dead"], s);
    assert.equal(r.attempts, 3);
    assert.equal(r.lastError, "HTTP 503");
    const dead = w.lines.find((l) => l.msg === "delivery dead");
    assert.deepEqual(
      { id: dead?.delivery_id, attempts: dead?.attempts, err: dead?.error, level: dead?.level },
      { id: delivery.id, attempts: 3, err: "HTTP 503", level: 40 },
    );
    const attempts = await s.deliveryAttempts.list(delivery.id);
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.status]),
      [
        [1, "failed"],
        [2, "failed"],
        [3, "dead"],
      ],
    );
    await w.stop();
  });

  test("a final error is dead at once, without a retry time", async () => {
    const w = worker({ now: () => 5 });
    w.registerSender("probe", async () => {
      throw final();
    });
    const t0 = Date.now();
    const { delivery, outcome } = await w.sendNow({
      targetType: "probe",
      target: {},
      payload: {},
      destination: uniq("d"),
    });
    assert.equal(outcome.status, "dead");
    assert.equal(outcome.nextAttemptAt, undefined);
    const r = (await store.deliveries.get(delivery.id))!;
    assert.equal(r.status, "dead");
    assert.equal(r.lastStatus, 400);
    assert.ok(r.nextAttemptAt >= t0, "next_attempt_at is the real now, not the pinned clock");
    assert.equal(w.lines.filter((l) => l.msg === "delivery failed; will retry").length, 0);
    await w.stop();
  });

  test("awaitOutcomes false returns before the outcome is written; outcomesWritten and stop wait for it", async () => {
    // The outcome's write held back: the send's answer does not wait for it.
    const held = gate();
    const s = watched(store, { holdWrites: held.wait });
    const h = worker({ store: s.store });
    h.registerSender("probe", async () => {});
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error("sendNowMany waited for the outcome's write")),
        3_000,
      ).unref(),
    );
    const [held1] = await Promise.race([
      h.sendNowMany([{ targetType: "probe", target: {}, payload: {}, destination: uniq("d") }], {
        awaitOutcomes: false,
      }),
      timeout,
    ]);
    assert.equal(held1!.outcome.status, "delivered");
    assert.equal((await raw(held1!.delivery.id)).status, "pending", "not written yet");
    held.open();
    await h.outcomesWritten();
    assert.equal((await raw(held1!.delivery.id)).status, "delivered");
    await h.stop();

    const w = worker();
    w.registerSender("probe", async () => {});
    const [x] = await w.sendNowMany(
      [{ targetType: "probe", target: {}, payload: {}, destination: uniq("d") }],
      {
        awaitOutcomes: false,
      },
    );
    assert.equal(x!.outcome.status, "delivered");
    await w.outcomesWritten();
    assert.equal((await raw(x!.delivery.id)).status, "delivered");
    const [y] = await w.sendNowMany(
      [{ targetType: "probe", target: {}, payload: {}, destination: uniq("d") }],
      {
        awaitOutcomes: false,
      },
    );
    await w.stop();
    assert.equal((await raw(y!.delivery.id)).status, "delivered");
  });

  test("waitMs: an attempt still running is reported pending and goes on; a quick one is not", async () => {
    const w = worker();
    const g = gate();
    w.registerSender("slow", async () => {
      await g.wait;
    });
    w.registerSender("quick", async () => {
      await new Promise((r) => setTimeout(r, 20));
    });
    const started = performance.now();
    const [slow] = await w.sendNowMany(
      [{ targetType: "slow", target: {}, payload: {}, destination: uniq("d") }],
      {
        waitMs: 50,
      },
    );
    assert.equal(slow!.outcome.status, "pending");
    assert.equal(slow!.outcome.error, "still being sent; see GET /api/v1/deliveries/{id}");
    assert.equal(slow!.outcome.httpStatus, null);
    assert.ok(
      slow!.outcome.durationMs >= 45 && slow!.outcome.durationMs < performance.now() - started + 1,
    );
    g.open();
    await rowWhen(slow!.delivery.id, ["delivered"]);
    const timers = () => process.getActiveResourcesInfo().filter((x) => x === "Timeout").length;
    const timersBefore = timers();
    const [quick] = await w.sendNowMany(
      [{ targetType: "quick", target: {}, payload: {}, destination: uniq("d") }],
      {
        waitMs: 60_000,
      },
    );
    assert.equal(quick!.outcome.status, "delivered");
    assert.equal(timers(), timersBefore, "the waitMs timer is cleared once the attempts end");
    const plain = await w.sendNow({
      targetType: "quick",
      target: {},
      payload: {},
      destination: uniq("d"),
    });
    assert.equal(plain.outcome.status, "delivered");
    await w.stop();
  });

  test("the attempt's signal fires a little before the lease ends (lease − min(2 s, lease/10), at least 500 ms)", async () => {
    // 2000 − 200 = 1800 ms (2200 if the margin were added: room for a slow timer).
    const w1 = worker({ leaseMs: 2_000 });
    const w2 = worker({ leaseMs: 200 });
    // A quick attempt's signal: its timer is ended with the attempt, so it never fires.
    const w3 = worker({ leaseMs: 200 });
    let quickSignal: AbortSignal | undefined;
    w3.registerSender("probe", async (_d, signal) => {
      quickSignal = signal;
    });
    const aborted: number[] = [];
    const sender: DeliverySender = async (_d, signal) => {
      const t = performance.now();
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      aborted.push(performance.now() - t);
      throw new DeliveryError("aborted");
    };
    w1.registerSender("probe", sender);
    w2.registerSender("probe", sender);
    const d = () => ({ targetType: "probe", target: {}, payload: {}, destination: uniq("d") });
    const [a, b, c] = await Promise.all([w1.sendNow(d()), w2.sendNow(d()), w3.sendNow(d())]);
    assert.equal(c.outcome.status, "delivered");
    assert.equal(a.outcome.status, "failed");
    assert.equal(b.outcome.status, "failed");
    const [t2000, t200] =
      aborted.length === 2 && aborted[0]! > aborted[1]! ? aborted : [aborted[1]!, aborted[0]!];
    assert.ok(
      t2000! >= 1_780 && t2000! < 2_150,
      `lease 2000 ms: aborted after ${t2000} ms, want 1800`,
    );
    assert.ok(t200! >= 480 && t200! < 1_500, `lease 200 ms: aborted after ${t200} ms, want 500`);
    assert.equal(
      quickSignal?.aborted,
      false,
      "well past its 500 ms, the finished attempt's signal is quiet",
    );
    await Promise.all([w1.stop(), w2.stop(), w3.stop()]);
  });
});

describe("delivery worker: dispatchers", () => {
  test("a dispatcher gets the stored task, the result and the delivery's options", async () => {
    const calls: Array<{ type: string; task: any; result: string; opts: any }> = [];
    const dispatchers = {
      get(type: string): Dispatcher {
        return {
          async deliver(task: any, result: string, opts: any) {
            calls.push({ type, task, result, opts });
          },
        } as unknown as Dispatcher;
      },
    };
    const w = worker({ dispatchers });
    const task = {
      id: "task-stored",
      session_id: "s1",
      bot_id: "b1",
      status: "completed",
      prompt: "hi",
      result: "r",
      error: "e",
      callback_config: { x: 1 },
    };
    const full = await w.sendNow({
      taskId: "task-row",
      targetType: "disp-a",
      target: { channel: "c" },
      payload: {
        task,
        status: "failed",
        result: "the result",
        client_actions: [{ a: 1 }],
        extra_metadata: { m: 2 },
      },
      destination: uniq("d"),
    });
    assert.equal(full.outcome.status, "delivered");
    const empty = await w.sendNow({
      targetType: "disp-b",
      target: {},
      payload: { result: 42 },
      destination: uniq("d"),
    });
    const fromRow = await w.sendNow({
      taskId: "task-row",
      targetType: "disp-b",
      target: {},
      payload: { status: "failed" },
      destination: uniq("d"),
    });
    assert.equal(calls.length, 3);
    const [a, b, c] = calls as [any, any, any];
    assert.equal(a.type, "disp-a");
    assert.deepEqual(a.task, {
      ...task,
      dispatch_type: "disp-a",
      dispatch_config: { channel: "c" },
    });
    assert.equal(a.result, "the result");
    assert.equal(a.opts.deliveryId, full.delivery.id);
    assert.ok(a.opts.signal instanceof AbortSignal);
    assert.deepEqual(a.opts.clientActions, [{ a: 1 }]);
    assert.deepEqual(a.opts.extraMetadata, { m: 2 });
    assert.equal(b.type, "disp-b");
    assert.deepEqual(b.task, {
      id: "",
      session_id: "",
      bot_id: "",
      status: "",
      prompt: "",
      result: null,
      error: null,
      dispatch_type: "disp-b",
      dispatch_config: {},
      callback_config: null,
    });
    assert.equal(b.result, "", "a result that is not text is empty");
    assert.equal(b.opts.deliveryId, empty.delivery.id);
    assert.equal(b.opts.clientActions, undefined);
    assert.equal(c.task.id, "task-row");
    assert.equal(c.task.status, "failed");
    assert.equal(fromRow.outcome.status, "delivered");
    // A registered sender wins over the dispatcher of the same type.
    w.registerSender("disp-a", async () => ({ httpStatus: 299 }));
    const viaSender = await w.sendNow({
      targetType: "disp-a",
      target: {},
      payload: {},
      destination: uniq("d"),
    });
    assert.equal(viaSender.outcome.httpStatus, 299);
    assert.equal(calls.length, 3);
    await w.stop();
  });
});

describe("delivery worker: circuit breaker inputs and per-destination slots", () => {
  test("failures without an answer park a destination (logged); answers, 5xx included, and deliveries reset it; dead without an answer is neither", async () => {
    const w = worker({
      breakerFailures: 2,
      breakerCoolOffMs: 600_000,
      scheduleMs: [60_000, 60_000, 60_000],
    });
    let fail: () => Error = refused;
    w.registerSender("probe", async () => {
      const e = fail();
      if (e.message !== "ok") throw e;
    });
    const dest = uniq("dest");
    const send = () =>
      w.sendNow({ targetType: "probe", target: {}, payload: {}, destination: dest });
    const view = () => w.destinations().find((b) => b.destination === dest);
    await send();
    assert.deepEqual(
      { ...view(), openUntil: null },
      {
        destination: dest,
        state: "closed",
        consecutiveFailures: 1,
        openUntil: null,
        lastError: "connect ECONNREFUSED 127.0.0.1:9",
        opened: 0,
      },
    );
    fail = () => new Error("ok");
    await send();
    assert.equal(view(), undefined, "a delivery forgets the failures");
    fail = refused;
    await send();
    fail = http503;
    await send();
    assert.equal(view(), undefined, "an HTTP answer counts as alive");
    fail = refused;
    await send();
    fail = finalNoAnswer;
    await send();
    assert.equal(view()?.consecutiveFailures, 1, "dead without an answer is not counted");
    fail = refused;
    const before = Date.now();
    await send();
    const parked = view()!;
    assert.equal(parked.state, "open");
    assert.equal(parked.consecutiveFailures, 2);
    assert.ok(parked.openUntil! >= before + 600_000 && parked.openUntil! <= Date.now() + 600_000);
    const line = w.lines.find((l) => l.msg === "delivery destination parked: circuit breaker open");
    assert.ok(line, "the parking is logged");
    assert.deepEqual(
      {
        d: line.destination,
        n: line.consecutive_failures,
        until: line.open_until,
        err: line.error,
        level: line.level,
      },
      {
        d: dest,
        n: 2,
        until: new Date(parked.openUntil!).toISOString(),
        err: "connect ECONNREFUSED 127.0.0.1:9",
        level: 40,
      },
    );
    // Parked: an inline send only writes the row, due now and not leased.
    const r = await send();
    assert.equal(r.outcome.status, "pending");
    assert.equal(r.outcome.error, "destination parked (circuit breaker open); queued");
    assert.equal(r.outcome.httpStatus, null);
    assert.ok(r.outcome.durationMs >= 0 && r.outcome.durationMs < 5_000);
    assert.equal(r.delivery.attempts, 0);
    const row = await raw(r.delivery.id);
    assert.equal(row.lease_owner, null);
    assert.equal(row.status, "pending");
    await w.stop();
  });

  test("parked destination by URL, mixed batch: only the parked one is queued; onPoke is told", async () => {
    let pokes = 0;
    const w = worker({ breakerFailures: 1, breakerCoolOffMs: 600_000, onPoke: () => pokes++ });
    w.registerSender("probe", async (d) => {
      if (d.payload.fail) throw refused();
    });
    const url = `https://${uniq("h")}.example/hook`;
    await w.sendNow({ targetType: "probe", target: { url }, payload: { fail: true } });
    assert.equal(w.destinations()[0]?.state, "open");
    assert.equal(pokes, 0, "a failed inline send wakes this loop only");
    const ok = await w.sendNowMany([
      { targetType: "probe", target: {}, payload: {}, destination: uniq("d") },
    ]);
    assert.equal(ok[0]!.outcome.status, "delivered");
    assert.equal(pokes, 0, "nothing queued: nobody told");
    const [parked, sent] = await w.sendNowMany([
      { targetType: "probe", target: { url }, payload: {} },
      { targetType: "probe", target: {}, payload: {}, destination: uniq("d") },
    ]);
    assert.equal(parked!.outcome.status, "pending");
    assert.equal(parked!.delivery.attempts, 0);
    assert.equal(sent!.outcome.status, "delivered");
    assert.equal(sent!.delivery.attempts, 1);
    assert.equal(pokes, 1);
    await w.stop();
  });

  test("a healthy destination takes several inline sends at once", async () => {
    const w = worker();
    const release = gate();
    let started = 0;
    w.registerSender("probe", async (d) => {
      started++;
      if (d.payload.wait) await release.wait;
    });
    const dest = uniq("dest");
    const d = (payload: Record<string, unknown>) => ({
      targetType: "probe",
      target: {},
      payload,
      destination: dest,
    });
    const first = w.sendNow(d({ wait: true }));
    await until(() => started === 1, "the first send in flight");
    const [x, y] = await w.sendNowMany([d({}), d({})]);
    assert.deepEqual(
      [x!.outcome.status, y!.outcome.status, x!.delivery.attempts, y!.delivery.attempts],
      ["delivered", "delivered", 1, 1],
    );
    release.open();
    assert.equal((await first).outcome.status, "delivered");
    await w.stop();
  });

  test("after the cool-off one probe at a time: the second of a batch and one beside a send in flight are queued", async () => {
    const w = worker({ breakerFailures: 1, breakerCoolOffMs: 40 });
    const gates = new Map<string, ReturnType<typeof gate>>();
    w.registerSender("probe", async (d) => {
      const how = String(d.payload.how);
      if (how === "refuse") throw refused();
      if (how === "dead") {
        const g = gates.get(String(d.payload.gate));
        if (g) await g.wait;
        throw finalNoAnswer();
      }
    });
    const dest = uniq("dest");
    const d = (payload: Record<string, unknown>) => ({
      targetType: "probe",
      target: {},
      payload,
      destination: dest,
    });
    // Two sends in flight, then a failure parks the destination.
    gates.set("A", gate());
    gates.set("B", gate());
    const a = w.sendNow(d({ how: "dead", gate: "A" }));
    const b = w.sendNow(d({ how: "dead", gate: "B" }));
    await w.sendNow(d({ how: "refuse" }));
    await until(
      () => w.destinations().find((x) => x.destination === dest)?.state === "half_open",
      "half-open",
    );
    // A ends (dead, no answer: the breaker stays half-open); B is still in flight.
    gates.get("A")!.open();
    assert.equal((await a).outcome.status, "dead");
    const beside = await w.sendNow(d({ how: "ok" }));
    assert.equal(beside.outcome.status, "pending");
    assert.equal(beside.outcome.error, "destination being probed after its cool-off; queued");
    gates.get("B")!.open();
    assert.equal((await b).outcome.status, "dead");
    // Nothing in flight now: one probe goes, the second of the batch waits.
    const [p1, p2] = await w.sendNowMany([d({ how: "dead" }), d({ how: "ok" })]);
    assert.equal(p1!.outcome.status, "dead");
    assert.equal(p2!.outcome.status, "pending");
    assert.equal(p2!.outcome.error, "destination being probed after its cool-off; queued");
    // Still half-open and nothing in flight: the next probe goes.
    const p3 = await w.sendNow(d({ how: "ok" }));
    assert.equal(p3.outcome.status, "delivered");
    assert.equal(
      w.destinations().find((x) => x.destination === dest),
      undefined,
      "closed again",
    );
    await w.stop();
  });
});

describe("delivery worker: claims and the loop", () => {
  test("start claims due rows; a row whose lease ran out is resumed and logged with its previous owner", async () => {
    const s = await freshStore();
    const [ghost, plain] = await s.deliveries.insertRows([
      {
        targetType: "probe",
        target: {},
        payload: {},
        destination: "g",
        lease: { owner: "ghost", ms: -1 },
      },
      { targetType: "probe", target: {}, payload: {}, destination: "p" },
    ]);
    const w = worker({ store: s });
    w.registerSender("probe", async () => {});
    w.start();
    const g = await rowWhen(ghost!.id, ["delivered"], s);
    await rowWhen(plain!.id, ["delivered"], s);
    assert.equal(g.attempts, 2);
    const lines = w.lines.filter(
      (l) => l.msg === "delivery resumed: its previous owner's lease expired without an outcome",
    );
    assert.equal(lines.length, 1);
    assert.deepEqual(
      [
        lines[0]!.delivery_id,
        lines[0]!.previous_owner,
        lines[0]!.attempts,
        lines[0]!.target_type,
        lines[0]!.level,
      ],
      [ghost!.id, "ghost", 2, "probe", 40],
    );
    await w.stop();
  });

  test("concurrency caps the sends in flight; a full claim tells other instances; each send that ends claims more", async () => {
    const s = await freshStore();
    let pokes = 0;
    const w = worker({ store: s, concurrency: 2, onPoke: () => pokes++ });
    let inFlight = 0;
    let most = 0;
    const started: string[] = [];
    const release = gate();
    w.registerSender("probe", async (d) => {
      started.push(d.id);
      most = Math.max(most, ++inFlight);
      await release.wait;
      inFlight--;
    });
    const rows = await s.deliveries.insertRows(
      Array.from({ length: 5 }, (_, i) => ({
        targetType: "probe",
        target: {},
        payload: {},
        destination: `c${i}`,
      })),
    );
    w.start();
    await until(() => started.length === 2, "two sends started");
    assert.equal(pokes, 1, "the claim filled every slot: others are told");
    w.poke();
    assert.equal(pokes, 2, "no free slot: a poke tells others");
    // A pass now finds no free slot; stop waits for it and for the sends in flight.
    w.wake();
    const stopping = w.stop();
    release.open();
    await stopping;
    assert.equal(most, 2, "never more than `concurrency` in flight");
    assert.equal(started.length, 2);
    assert.equal(pokes, 2, "passes that found no free slot told nobody");
    // Started again: the rest, two at a time, each end making room for the next.
    w.start();
    for (const r of rows) await rowWhen(r.id, ["delivered"], s);
    assert.equal(most, 2);
    assert.equal(started.length, 5);
    await w.stop();
  });

  test("a destination gets at most perDestination leases; a parked one none", async () => {
    const s = await freshStore();
    const w = worker({
      store: s,
      perDestination: 1,
      breakerFailures: 1,
      breakerCoolOffMs: 600_000,
      scheduleMs: [1, 1],
    });
    const perDest = new Map<string, number>();
    const most = new Map<string, number>();
    const calls: string[] = [];
    const release = gate();
    w.registerSender("probe", async (d) => {
      calls.push(d.destination);
      if (d.payload.fail) throw refused();
      const n = (perDest.get(d.destination) ?? 0) + 1;
      perDest.set(d.destination, n);
      most.set(d.destination, Math.max(most.get(d.destination) ?? 0, n));
      await release.wait;
      perDest.set(d.destination, perDest.get(d.destination)! - 1);
    });
    // Z fails inline: parked, its row due again at once.
    const z = await w.sendNow({
      targetType: "probe",
      target: {},
      payload: { fail: true },
      destination: "Z",
    });
    assert.equal(z.outcome.status, "failed");
    await s.deliveries.insertRows([
      ...Array.from({ length: 3 }, () => ({
        targetType: "probe",
        target: {},
        payload: {},
        destination: "X",
      })),
      { targetType: "probe", target: {}, payload: {}, destination: "Y" },
    ]);
    w.start();
    await until(() => perDest.get("X") === 1 && perDest.get("Y") === 1, "X and Y started");
    const stopping = w.stop();
    release.open();
    await stopping;
    assert.equal(most.get("X"), 1, "one lease at a time for X");
    assert.deepEqual(
      calls.filter((c) => c === "Z"),
      ["Z"],
      "the parked destination's due row is not claimed",
    );
    assert.equal((await s.deliveries.get(z.delivery.id))!.status, "failed");
  });

  test("retries wake the loop at their time (the earliest first), a parked destination at its cool-off's end; idle passes stay few", async () => {
    const s = watched(await freshStore());
    const w = worker({
      store: s.store,
      scheduleMs: [150, 8_000],
      jitter: 0,
      breakerFailures: 1,
      breakerCoolOffMs: 300,
    });
    w.registerSender("probe", async (d) => {
      const plan = d.payload.plan as string[];
      const step = plan[d.attempts - 1];
      if (step === "refuse") throw refused();
      if (step === "503") throw http503();
      if (step === "503-later")
        throw new DeliveryError("HTTP 503", { status: 503, retryAfterMs: 8_000 });
      if (step === "final") throw final();
    });
    w.start();
    await until(() => s.claims() >= 1, "the first pass");
    const t0 = Date.now();
    const send = (plan: string[], destination: string) =>
      w.sendNow({ targetType: "probe", target: {}, payload: { plan }, destination });
    const later = await send(["503-later", "ok"], "L");
    assert.equal(
      (later.outcome as AttemptOutcome).nextAttemptAt! - later.delivery.createdAt >= 8_000,
      true,
    );
    const dead = await send(["final"], "D");
    assert.equal(dead.outcome.status, "dead");
    const soon = await send(["503", "ok"], "S");
    const parked = await send(["refuse", "ok"], "P");
    assert.equal(w.destinations().find((b) => b.destination === "P")?.state, "open");
    const rs = await rowWhen(soon.delivery.id, ["delivered"], s.store);
    const rp = await rowWhen(parked.delivery.id, ["delivered"], s.store);
    const took = Date.now() - t0;
    assert.ok(took < 5_000, `retried at their times, not at the 60 s poll (${took} ms)`);
    assert.equal(rs.attempts, 2);
    assert.equal(rp.attempts, 2);
    assert.ok(rp.deliveredAt! - parked.delivery.createdAt >= 300, "not before the cool-off ended");
    assert.equal((await s.store.deliveries.get(later.delivery.id))!.status, "failed");
    // A few passes per retry and per send, not a busy loop.
    assert.ok(s.claims() <= 25, `claims: ${s.claims()}`);
    await w.stop();
  });

  test("poke and wake: a row written later is claimed at once; others are told only when this worker holds back", async () => {
    const ws = watched(await freshStore());
    const s = ws.store;
    let pokes = 0;
    const w = worker({
      store: s,
      onPoke: () => pokes++,
      breakerFailures: 1,
      breakerCoolOffMs: 150,
      scheduleMs: [250],
    });
    w.registerSender("probe", async (d) => {
      if (d.payload.fail) throw refused();
    });
    w.poke();
    assert.equal(pokes, 1, "not started: others are told");
    w.wake();
    assert.equal(pokes, 1, "wake never tells others");
    w.start();
    w.poke();
    assert.equal(pokes, 1, "room and no destination held back: nobody told");
    // Rows that come due while the loop sleeps (nothing planned, the poll 60 s away): claimed
    // once the loop is woken, by wake() or by poke().
    // (Written held by another owner's 150 ms lease, so no pass in progress takes it early.)
    const dueSoon = async (destination: string) => {
      const r = await s.deliveries.insertRow({
        targetType: "probe",
        target: {},
        payload: {},
        destination,
        lease: { owner: "sleeper", ms: 150 },
      });
      const free = (
        await s.db.kysely
          .selectFrom("deliveries")
          .select("lease_expires_at")
          .where("id", "=", r.id)
          .executeTakeFirstOrThrow()
      ).lease_expires_at!;
      await until(() => Date.now() > Number(free) + 5, "the row's lease to run out");
      return r;
    };
    const a = await dueSoon("a");
    w.wake();
    await rowWhen(a.id, ["delivered"], s);
    const b = await dueSoon("b");
    w.poke();
    await rowWhen(b.id, ["delivered"], s);
    // z fails: parked for 150 ms, retried after 250 ms (half-open by then), dead at attempt 2.
    const z = await w.sendNow({
      targetType: "probe",
      target: {},
      payload: { fail: true },
      destination: "z",
    });
    const n = pokes;
    w.poke();
    assert.equal(pokes, n + 1, "a parked destination: others are told");
    await until(() => w.destinations()[0]?.state === "half_open", "half-open");
    w.poke();
    assert.equal(pokes, n + 2, "a destination being probed: others are told");
    // Half-open with nothing of it due (the probe died without an answer, which leaves the
    // breaker as it was): the loop sleeps, it does not spin.
    await rowWhen(z.delivery.id, ["dead"], s);
    assert.equal(w.destinations()[0]?.state, "half_open");
    const c0 = ws.claims();
    for (let i = 0; i < 3; i++) {
      const other = await w.sendNow({
        targetType: "probe",
        target: {},
        payload: {},
        destination: "y",
      });
      assert.equal(other.outcome.status, "delivered");
    }
    assert.ok(ws.claims() - c0 <= 3, `claims while half-open and idle: ${ws.claims() - c0}`);
    await w.stop();
    // Without onPoke, a poke with no room is fine.
    const quiet = worker({ store: s });
    quiet.poke();
    await quiet.stop();
  });

  test("stop waits for the claimed sends and their outcomes", async () => {
    const s = await freshStore();
    const w = worker({ store: s });
    const release = gate();
    let started = false;
    w.registerSender("probe", async () => {
      started = true;
      await release.wait;
    });
    const r = await s.deliveries.insertRow({
      targetType: "probe",
      target: {},
      payload: {},
      destination: "s",
    });
    w.start();
    await until(() => started, "the send started");
    const stopping = w.stop();
    release.open();
    await stopping;
    assert.equal((await s.deliveries.get(r.id))!.status, "delivered");
  });

  test("a pass that fails is logged under the loop's name", async () => {
    const s = watched(await freshStore(), { fail: true });
    const w = worker({ store: s.store });
    w.start();
    const line = await until(
      () => w.lines.find((l) => l.msg === "work loop pass failed"),
      "the error logged",
    );
    assert.equal(line.loop, "deliveries");
    assert.equal(line.level, 50);
    await w.stop();
  });
});

describe("decideRetry: the floor after a timeout, Retry-After at the floor", () => {
  /** Jitter 20 % with random 0.5 (the step itself), the clock at 0, a 60 s floor. */
  const policy = (scheduleMs: number[]): RetryPolicy => ({
    scheduleMs,
    jitter: 0.2,
    minBackoffAfterThrottleMs: 60_000,
    now: () => 0,
    random: () => 0.5,
  });

  test("every spelling of a timeout gets the floor: timeout, time out, timed out, timedout", () => {
    for (const message of ["Request timeout", "time out", "timed out after 15000 ms", "TIMEDOUT"]) {
      const d = decideRetry(1, new Error(message), policy([1_000, 5_000]));
      assert.equal(d.status, "failed");
      assert.equal(d.status === "failed" && d.nextAttemptAt, 60_000, message);
    }
    const other = decideRetry(1, new Error("connection refused"), policy([1_000, 5_000]));
    assert.equal(other.status === "failed" && other.nextAttemptAt, 1_000);
  });

  test("a Retry-After equal to the delay already chosen keeps it (not cut to the schedule's longest step)", () => {
    const err = new DeliveryError("429 Too Many Requests", { status: 429, retryAfterMs: 60_000 });
    const d = decideRetry(1, err, policy([1_000, 5_000]));
    assert.equal(d.status === "failed" && d.nextAttemptAt, 60_000);
  });
});
