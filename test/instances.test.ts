/**
 * Several instances on one database (issue 14): `GET /api/v1/admin/instances` lists the
 * live servers with the leases each holds and its running tasks; a `singleton: true`
 * integration process runs on exactly one of two apps, moves to the other at once when
 * its holder stops cleanly (the lease is given back, not left to expire), and is taken over
 * after the TTL when its holder dies without giving it back. Both backends; two in-process
 * apps share one database.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { LeaseEvent } from "../src/leases/exclusive.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn, tempDir } from "./support/db.ts";
import { startFakeLlm } from "./support/fake-llm.ts";

const LEASE = "solo/process";
const LOOP = "solo/loop";

/** An integrations folder holding `solo`, whose process.ts is a singleton that idles. */
function soloIntegration(): { path: string; remove(): void } {
  const dir = tempDir();
  mkdirSync(join(dir.path, "solo"), { recursive: true });
  const def = {
    description: "idles",
    command: [process.execPath, "-e", "setInterval(() => {}, 1000)"],
    singleton: true,
  };
  writeFileSync(
    join(dir.path, "solo", "process.ts"),
    `import type { ProcessDefinition } from "switchyard";\nexport default ${JSON.stringify(def)} satisfies ProcessDefinition;\n`,
  );
  // An exclusive run whose caller never aborts it: only the server's stop gives it back.
  writeFileSync(
    join(dir.path, "solo", "router.ts"),
    `import type { RouterDefinition } from "switchyard";
export default ((_app, ctx) => {
  void ctx.exclusive("loop", (signal) => new Promise((r) => signal.addEventListener("abort", () => r(), { once: true })), { signal: new AbortController().signal });
}) satisfies RouterDefinition;
`,
  );
  return dir;
}

/** Lease events of one app, with the time each was seen. */
function recorder() {
  const events: Array<LeaseEvent & { at: number }> = [];
  return {
    events,
    onEvent: (e: LeaseEvent) => events.push({ ...e, at: Date.now() }),
    count: (type: LeaseEvent["type"]) =>
      events.filter((e) => e.name === LEASE && e.type === type).length,
    first: (type: LeaseEvent["type"]) => events.find((e) => e.name === LEASE && e.type === type),
  };
}

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const solo = (t: TestApp) => t.app.processes.status("solo")[0]!;

for (const backend of ALL_BACKENDS) {
  describe(`instances and singleton processes (${backend})`, runsOn(backend), () => {
    test("two apps: both listed with what they hold; the singleton runs on one and moves at once on a clean stop", async () => {
      const db = await createTestDatabase(backend);
      const llm = await startFakeLlm();
      const dir = soloIntegration();
      const ttl = 6000;
      const ra = recorder();
      const rb = recorder();
      const opts = (r: ReturnType<typeof recorder>) => ({
        backend,
        keepDb: db,
        llm,
        env: { INTEGRATION_DIRS: dir.path },
        tuning: {
          leaseTtlMs: ttl,
          instanceHeartbeatMs: 200,
          shutdownGraceMs: 300,
          onLeaseEvent: r.onEvent,
        },
      });
      let a: TestApp | undefined;
      let b: TestApp | undefined;
      try {
        a = await startTestApp(opts(ra));
        await until(() => solo(a!).state === "running", "the singleton running on A");
        b = await startTestApp(opts(rb));
        // B tried twice and was refused; A kept it meanwhile.
        await until(() => rb.count("busy") >= 2, "B refused twice");
        assert.equal(solo(a).state, "running");
        assert.equal(solo(b).state, "standby");
        assert.equal(solo(b).pid, null, "no child on B");
        assert.equal(solo(b).singleton, true);

        // A running task is counted on the instance that leased it.
        llm.enqueue({ hang: true });
        const sid = await a.session("instances-task");
        const m = await a.api("POST", `/api/v1/sessions/${sid}/messages`, {
          content: "hang",
          run_agent: true,
        });
        assert.equal(m.status, 201, JSON.stringify(m.body));
        await llm.waitForRequests(1);

        const list = await b.api("GET", "/api/v1/admin/instances");
        assert.equal(list.status, 200, JSON.stringify(list.body));
        const byId = Object.fromEntries(list.body.map((i: any) => [i.id, i]));
        assert.deepEqual(Object.keys(byId).sort(), [a.app.owner, b.app.owner].sort());
        assert.deepEqual(byId[a.app.owner].holds, [LOOP, LEASE]);
        assert.deepEqual(byId[b.app.owner].holds, []);
        assert.equal(byId[a.app.owner].version, byId[b.app.owner].version);
        assert.ok(byId[a.app.owner].hostname);
        assert.ok(
          Date.parse(byId[a.app.owner].last_heartbeat_at) >=
            Date.parse(byId[a.app.owner].started_at),
        );
        assert.equal(
          byId[a.app.owner].tasks_running + byId[b.app.owner].tasks_running,
          1,
          "the hung task counted once",
        );
        const denied = await b.api("GET", "/api/v1/admin/instances", undefined, { key: null });
        assert.equal(denied.status, 401);

        // A clean stop gives the lease back: B starts the process before A's lease would expire.
        const heldUntil = (await b.app.store.leases.get(LEASE))!.expiresAt;
        const aPid = solo(a).pid;
        assert.ok(aPid);
        await a.close();
        a = undefined;
        await until(() => solo(b!).state === "running", "the singleton running on B");
        const taken = rb.first("acquired")!;
        assert.ok(
          taken.at < heldUntil,
          `B took over before A's lease would have expired (${taken.at} < ${heldUntil})`,
        );
        assert.equal(ra.count("released"), 1, "A released it");
        assert.ok(
          ra.events.some((e) => e.name === LOOP && e.type === "released"),
          "A's stop gave back the exclusive run its caller never aborted",
        );
        await until(
          () => rb.events.some((e) => e.name === LOOP && e.type === "acquired"),
          "B taking the loop",
        );
        assert.notEqual(solo(b).pid, aPid);
        const after = (await b.api("GET", "/api/v1/admin/instances")).body;
        assert.deepEqual(
          after.map((i: any) => [i.id, i.holds]),
          [[b.app.owner, [LOOP, LEASE]]],
          "A's row is gone; B holds the leases",
        );
      } finally {
        await a?.close();
        await b?.close();
        await llm.close();
        await db.drop();
        dir.remove();
      }
    });

    test("a holder that dies without giving the lease back is taken over after its TTL", async () => {
      const db = await createTestDatabase(backend);
      const dir = soloIntegration();
      const ttl = 1200;
      const rb = recorder();
      let b: TestApp | undefined;
      try {
        // The dead instance's row: it took the lease and then never renewed it.
        const { Store } = await import("../src/store/index.ts");
        const s = await Store.open(db.url);
        const takenAt = Date.now();
        try {
          assert.equal(await s.leases.acquire(LEASE, "dead-host:1:x/abcd", ttl, takenAt), true);
          // Its last heartbeat, older than 3 intervals: not listed as live.
          await s.instances.beat({
            id: "dead-host:1:x",
            version: "0.0.1",
            hostname: "dead-host",
            startedAt: takenAt - 60_000,
            lastHeartbeatAt: takenAt - 1000,
          });
        } finally {
          await s.close();
        }
        b = await startTestApp({
          backend,
          keepDb: db,
          env: { INTEGRATION_DIRS: dir.path },
          tuning: { leaseTtlMs: ttl, instanceHeartbeatMs: 200, onLeaseEvent: rb.onEvent },
        });
        await until(() => rb.count("busy") >= 1, "B refused while the dead holder's lease lives");
        assert.equal(solo(b).state, "standby");
        await until(() => solo(b!).state === "running", "the singleton running on B");
        const taken = rb.first("acquired")!;
        assert.ok(taken.at >= takenAt + ttl, "not before the dead holder's lease expired");
        assert.ok(taken.at < takenAt + 2 * ttl + 500, "within about a ttl of expiry");
        const list = (await b.api("GET", "/api/v1/admin/instances")).body;
        assert.deepEqual(
          list.map((i: any) => [i.id, i.holds]),
          [[b.app.owner, [LOOP, LEASE]]],
        );
      } finally {
        await b?.close();
        await db.drop();
        dir.remove();
      }
    });

    test("a singleton whose lease is taken away under it is stopped, and waits for the lease again", async () => {
      const db = await createTestDatabase(backend);
      const dir = soloIntegration();
      const ttl = 900;
      const ra = recorder();
      let a: TestApp | undefined;
      try {
        a = await startTestApp({
          backend,
          keepDb: db,
          env: { INTEGRATION_DIRS: dir.path },
          tuning: { leaseTtlMs: ttl, onLeaseEvent: ra.onEvent },
        });
        await until(() => solo(a!).state === "running", "the singleton running");
        // Another holder overwrites it (as after a long freeze of this instance past expiry).
        await a.app.store.leases.acquire(LEASE, "other:1:x/abcd", 60_000, Date.now() + 10 * ttl);
        await until(() => ra.count("lost") === 1, "the lease lost");
        await until(() => solo(a!).state === "standby" && ra.count("busy") >= 1, "back to standby");
        assert.equal(solo(a).pid, null, "the child was stopped");
        assert.equal(solo(a).lastExitSignal, "SIGTERM");
      } finally {
        await a?.close();
        await db.drop();
        dir.remove();
      }
    });
  });
}
