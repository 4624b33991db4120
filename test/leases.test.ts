/**
 * Named leases (store/leases.ts) and the run-on-one-instance service over them
 * (leases/exclusive.ts, `ctx.exclusive`), on SQLite and PostgreSQL, with two stores on one
 * database standing for two instances: only one holder runs; a holder that stops renewing
 * is taken over after its lease expires; a released lease is taken at the next try; the
 * atomic take refuses a live lease of another holder.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { type LeaseEvent, LeaseService } from "../src/leases/exclusive.ts";
import { Store } from "../src/store/index.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn, type TestDatabase } from "./support/db.ts";

/** Events of one service, and a way to wait for one. */
function recorder() {
  const events: LeaseEvent[] = [];
  const waiters: Array<() => void> = [];
  return {
    events,
    onEvent(e: LeaseEvent) {
      events.push(e);
      for (const w of waiters.splice(0)) w();
    },
    count: (type: LeaseEvent["type"]) => events.filter((e) => e.type === type).length,
    async until(pred: () => boolean, timeoutMs = 10_000, what = "lease event") {
      const end = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

/** A run that records when it held the lease and returns when its signal aborts. */
function tracker() {
  let active = 0;
  let maxActive = 0;
  const runs: Array<{ who: string; start: number; end?: number }> = [];
  return {
    runs,
    get maxActive() {
      return maxActive;
    },
    run: (who: string) => async (signal: AbortSignal) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const r: { who: string; start: number; end?: number } = { who, start: Date.now() };
      runs.push(r);
      await new Promise<void>((res) => {
        if (signal.aborted) return res();
        signal.addEventListener("abort", () => res(), { once: true });
      });
      r.end = Date.now();
      active--;
    },
  };
}

for (const backend of ALL_BACKENDS) {
  describe(`leases (${backend})`, runsOn(backend), () => {
    let db: TestDatabase;
    let a: Store;
    let b: Store;
    before(async () => {
      db = await createTestDatabase(backend);
      a = await Store.open(db.url);
      b = await Store.open(db.url);
    });
    // Every run's controller, aborted after each test so a failed one leaves nothing running.
    const controllers: AbortController[] = [];
    const ctl = () => {
      const c = new AbortController();
      controllers.push(c);
      return c;
    };
    afterEach(() => {
      for (const c of controllers.splice(0)) c.abort();
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await db?.drop();
    });

    test("the atomic take: free → taken; a live lease of another holder is refused; an expired one is taken", async () => {
      const now = Date.now();
      assert.equal(await a.leases.acquire("t1", "h1", 1000, now), true);
      assert.equal(await b.leases.acquire("t1", "h2", 1000, now + 10), false);
      assert.equal(await a.leases.acquire("t1", "h1", 1000, now + 20), true, "renewal");
      assert.equal((await a.leases.get("t1"))?.acquiredAt, now, "a renewal keeps the start");
      assert.equal(await b.leases.acquire("t1", "h2", 1000, now + 1020), true, "after expiry");
      assert.equal((await a.leases.get("t1"))?.holder, "h2");
      assert.equal(await a.leases.acquire("t1", "h1", 1000, now + 1030), false);
      assert.equal(await a.leases.release("t1", "h1"), false, "not h1's to release");
      assert.equal(await b.leases.release("t1", "h2"), true);
      assert.equal(await a.leases.acquire("t1", "h1", 1000, now + 1040), true);
    });

    test("two holders: only one runs; stopping it hands over at once (release)", async () => {
      const ttl = 600;
      const ra = recorder();
      const rb = recorder();
      const sa = new LeaseService({
        leases: a.leases,
        owner: "A",
        ttlMs: ttl,
        onEvent: ra.onEvent,
      });
      const sb = new LeaseService({
        leases: b.leases,
        owner: "B",
        ttlMs: ttl,
        onEvent: rb.onEvent,
      });
      const tr = tracker();
      const ca = ctl();
      const cb = ctl();
      const pa = sa.run("two", tr.run("A"), { signal: ca.signal });
      await ra.until(() => ra.count("acquired") === 1);
      const pb = sb.run("two", tr.run("B"), { signal: cb.signal });
      // B tried three times and A renewed several times: B never ran meanwhile.
      await rb.until(() => rb.count("busy") >= 3 && ra.count("renewed") >= 3);
      assert.deepEqual(
        tr.runs.map((r) => r.who),
        ["A"],
      );
      const heldUntil = (await a.leases.get("two"))!.expiresAt;
      ca.abort();
      await pa;
      assert.equal(ra.count("released"), 1);
      await rb.until(() => rb.count("acquired") === 1);
      assert.ok(
        tr.runs[1]!.start < heldUntil,
        `B took over before A's lease would have expired (${tr.runs[1]!.start} < ${heldUntil})`,
      );
      assert.equal(tr.maxActive, 1, "never two at once");
      cb.abort();
      await pb;
      assert.equal(await a.leases.get("two"), undefined, "released on stop");
    });

    test("a holder that stops renewing (died) is taken over after its lease expires", async () => {
      const ttl = 600;
      const rb = recorder();
      const sb = new LeaseService({
        leases: b.leases,
        owner: "B",
        ttlMs: ttl,
        onEvent: rb.onEvent,
      });
      // The dead holder took the lease and never renews it.
      const takenAt = Date.now();
      assert.equal(await a.leases.acquire("dead", "A-dead", ttl, takenAt), true);
      const tr = tracker();
      const cb = ctl();
      const pb = sb.run("dead", tr.run("B"), { signal: cb.signal });
      await rb.until(() => rb.count("acquired") === 1);
      assert.ok(rb.count("busy") >= 1, "B waited");
      assert.ok(tr.runs[0]!.start >= takenAt + ttl, "not before the dead holder's lease expired");
      assert.ok(tr.runs[0]!.start < takenAt + ttl + ttl, "within a ttl of expiry");
      cb.abort();
      await pb;
    });

    test("a lease taken away under a holder aborts its run; it then waits for the lease again", async () => {
      const ttl = 600;
      const ra = recorder();
      const sa = new LeaseService({
        leases: a.leases,
        owner: "A",
        ttlMs: ttl,
        onEvent: ra.onEvent,
      });
      const tr = tracker();
      const ca = ctl();
      const pa = sa.run("stolen", tr.run("A"), { signal: ca.signal });
      await ra.until(() => ra.count("acquired") === 1);
      // Another holder overwrites it (as after a long pause of A past its expiry).
      await b.leases.acquire("stolen", "X", 60_000, Date.now() + 10 * ttl);
      await ra.until(() => ra.count("lost") === 1 && tr.runs[0]!.end !== undefined);
      await ra.until(() => ra.count("busy") >= 1);
      assert.equal(tr.runs.length, 1, "not run again while X holds it");
      ca.abort();
      await pa;
    });

    test("stop() (server shutdown) aborts runs whose caller never aborts and releases their leases", async () => {
      const ra = recorder();
      const sa = new LeaseService({
        leases: a.leases,
        owner: "A",
        ttlMs: 60_000,
        onEvent: ra.onEvent,
      });
      const tr = tracker();
      const never = new AbortController(); // the caller's signal: never aborted
      const pa = sa.run("stopped", tr.run("A"), { signal: never.signal });
      await ra.until(() => ra.count("acquired") === 1);
      await sa.stop();
      assert.equal(tr.runs[0]!.end !== undefined, true, "the run was aborted");
      assert.equal(ra.count("released"), 1);
      await pa;
      assert.equal(await a.leases.get("stopped"), undefined, "released, not left to expire");
      await sa.run("stopped", tr.run("A2"), { signal: never.signal });
      assert.equal(tr.runs.length, 1, "a run after stop returns at once");
    });
  });
}
