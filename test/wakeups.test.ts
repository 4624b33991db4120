/**
 * Wake-ups across instances (issue 14): two in-process apps on one PostgreSQL database
 * with polls made long (10 s, the scheduler 60 s), so only a wake-up (LISTEN/NOTIFY) can
 * start the work in time. Each test waits for the work's own signal (the task complete,
 * the webhook received, the job run's task) with a deadline well under the poll:
 * - a task injected on A (its task worker stopped) is run by B;
 * - a delivery written on A (its delivery worker stopped) is sent by B;
 * - a job created on A (its scheduler stopped) fires on B;
 * - B's listening connection is killed: a task injected while B is not listening is
 *   started when B listens again (it looks for work once), and wake-ups work after it;
 * - work A takes at once itself (a free slot) wakes nobody else; a claim of A's that
 *   fills its last free slot does (more may be waiting).
 * And on both backends, one app with a 10 s poll starts injected work at once (the
 * in-process signal, all SQLite needs). The bus alone (a fake channel): a burst of tells
 * sends one NOTIFY and one more after it, and an instance ignores its own.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sql } from "kysely";
import pino from "pino";
import type { AppTuning } from "../src/app.ts";
import type { WakeChannel, WakeChannelHandlers } from "../src/store/wake-channel.ts";
import { WakeupBus, type WakeupEvent } from "../src/wakeups/bus.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn, type TestDatabase } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";

/** Far longer than any deadline below: work found by polling fails the test. */
const LONG_POLL: AppTuning = { pollMs: 10_000, schedulerPollMs: 60_000 };
/** How long a wake-up may take here (a loaded CI machine included). */
const DEADLINE_MS = 3000;

/** Bus events of one app, and a way to wait for one. */
function busEvents() {
  const seen: WakeupEvent[] = [];
  const waiters: Array<{ pred: (e: WakeupEvent) => boolean; resolve: () => void }> = [];
  return {
    seen,
    onEvent(e: WakeupEvent) {
      seen.push(e);
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    /** Resolves at the next event of `type` (counting from `since`, an index into `seen`). */
    next(type: WakeupEvent["type"], since = seen.length, timeoutMs = 10_000): Promise<void> {
      if (seen.slice(since).some((e) => e.type === type)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no wake-up event ${type}`)), timeoutMs);
        waiters.push({
          pred: (e) => e.type === type,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}

interface Pair {
  a: TestApp;
  b: TestApp;
  bEvents: ReturnType<typeof busEvents>;
  llm: FakeLlm;
  db: TestDatabase;
  close(): Promise<void>;
}

/** Two apps on one PostgreSQL database; B listening before this resolves. */
async function pair(
  tuningB: AppTuning = {},
  a0: { env?: Record<string, string>; onEvent?: (e: WakeupEvent) => void } = {},
): Promise<Pair> {
  const db = await createTestDatabase("postgres");
  const llm = await startFakeLlm();
  const bEvents = busEvents();
  const a = await startTestApp({
    backend: "postgres",
    keepDb: db,
    llm,
    env: a0.env,
    tuning: { ...LONG_POLL, onWakeupEvent: a0.onEvent },
  });
  const b = await startTestApp({
    backend: "postgres",
    keepDb: db,
    llm,
    tuning: { ...LONG_POLL, onWakeupEvent: bEvents.onEvent, ...tuningB },
  });
  await bEvents.next("up", 0);
  return {
    a,
    b,
    bEvents,
    llm,
    db,
    async close() {
      await a.app.stop();
      await b.app.stop();
      await llm.close();
      await db.drop();
    },
  };
}

async function inject(t: TestApp, sessionId: string, content: string, extra = {}) {
  const r = await t.api("POST", `/api/v1/sessions/${sessionId}/messages`, {
    content,
    run_agent: true,
    ...extra,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.task_id as string;
}

describe("wake-ups across instances (postgres)", runsOn("postgres"), () => {
  test("a task injected on A starts on B at once, not on B's next poll", async () => {
    const p = await pair();
    try {
      await p.a.app.taskWorker.stop();
      const sid = await p.a.session("wake:task");
      const t0 = Date.now();
      const taskId = await inject(p.a, sid, "hello from A");
      const done = await p.b.waitForTask(taskId, ["complete"], DEADLINE_MS);
      assert.equal(done.status, "complete");
      assert.ok(Date.now() - t0 < DEADLINE_MS);
      assert.ok(p.bEvents.seen.some((e) => e.type === "received" && e.kind === "task"));
    } finally {
      await p.close();
    }
  });

  test("a delivery written on A is sent by B at once", async () => {
    const p = await pair();
    const hook = await startCaptureServer();
    try {
      await p.a.app.deliveryWorker.stop();
      await p.b.app.taskWorker.stop();
      const sid = await p.a.session("wake:delivery");
      const taskId = await inject(p.a, sid, "deliver me", {
        dispatch_config: { type: "webhook", url: `${hook.url}/hook` },
      });
      await p.a.waitForTask(taskId, ["complete"], DEADLINE_MS);
      const [req] = await hook.waitFor(1, DEADLINE_MS);
      assert.equal(req!.json.task_id, taskId);
      assert.ok(p.bEvents.seen.some((e) => e.type === "received" && e.kind === "delivery"));
    } finally {
      await p.close();
      await hook.close();
    }
  });

  test("a job created on A fires on B without waiting for B's scheduler poll", async () => {
    const p = await pair();
    try {
      await p.a.app.scheduler.stop();
      const r = await p.a.api("POST", "/api/v1/jobs", {
        name: "wake",
        prompt: "tick",
        schedule: { every_seconds: 1 },
        target: { bot_id: "default", client_id: "wake:job" },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const until = Date.now() + DEADLINE_MS;
      let runs: any[] = [];
      while (runs.length === 0) {
        assert.ok(Date.now() < until, "no job run within the deadline");
        runs = (await p.b.api("GET", `/api/v1/jobs/${r.body.id}/runs`)).body.items;
        if (runs.length === 0) await new Promise((res) => setTimeout(res, 20));
      }
      assert.ok(p.bEvents.seen.some((e) => e.type === "received" && e.kind === "job"));
    } finally {
      await p.close();
    }
  });

  test("work an instance takes at once itself is not told to the others", async () => {
    // Telling would only make every other instance run a claim that finds nothing (and
    // delay its own work).
    const aEvents = busEvents();
    const p = await pair({}, { onEvent: aEvents.onEvent });
    const hook = await startCaptureServer();
    try {
      const sid = await p.a.session("wake:own");
      const since = p.bEvents.seen.length;
      const taskId = await inject(p.a, sid, "A has room for this", {
        dispatch_config: { type: "webhook", url: `${hook.url}/hook` },
      });
      const done = await p.a.waitForTask(taskId, ["complete"], DEADLINE_MS);
      assert.equal(done.status, "complete");
      const [req] = await hook.waitFor(1, DEADLINE_MS);
      assert.equal(req!.json.task_id, taskId, "A ran and delivered it");
      // A NOTIFY would have been sent right after the inject's commit; give it time anyway.
      await new Promise((r) => setTimeout(r, 300));
      const told = p.bEvents.seen.slice(since).filter((e) => e.type === "received");
      assert.deepEqual(told, [], "B was not woken");
      assert.deepEqual(
        aEvents.seen.filter((e) => e.type === "sent"),
        [],
        "A sent no wake-up",
      );
    } finally {
      await p.close();
      await hook.close();
    }
  });

  test("a claim that fills every free slot tells the others (more may be waiting)", async () => {
    const p = await pair({}, { env: { SWITCHYARD_WORKER_CONCURRENCY: "1" } });
    try {
      // Two runnable tasks while neither instance claims; B is told of both, but its worker
      // is stopped, so nothing happens yet.
      await p.a.app.taskWorker.stop();
      await p.b.app.taskWorker.stop();
      await inject(p.a, await p.a.session("wake:full-1"), "one");
      await inject(p.a, await p.a.session("wake:full-2"), "two");
      await new Promise((r) => setTimeout(r, 300));
      const since = p.bEvents.seen.length;
      // A starts with one slot: its first claim takes one task and fills it, so it tells.
      p.a.app.taskWorker.start();
      await p.bEvents.next("received", since, DEADLINE_MS);
      const told = p.bEvents.seen.slice(since);
      assert.ok(told.some((e) => e.type === "received" && e.kind === "task"));
    } finally {
      await p.close();
    }
  });

  test("B's listening connection killed: work told while it was down starts when it listens again", async () => {
    // A slow first reconnect, so the task below is injected while B is not listening.
    const p = await pair({ wakeupReconnectMs: 400 });
    try {
      await p.a.app.taskWorker.stop();
      const sid = await p.a.session("wake:reconnect");
      const since = p.bEvents.seen.length;
      const killed = await sql<{ n: number }>`
        select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where application_name = ${`switchyard wakeups ${p.b.app.owner}`.slice(0, 63)}`.execute(
        p.a.app.store.db.kysely,
      );
      assert.equal(killed.rows[0]!.n, 1, "B's listening connection found and ended");
      await p.bEvents.next("down", since);
      assert.equal(p.b.app.wakeups.listening, false);
      const first = await inject(p.a, sid, "told while B was deaf");
      await p.bEvents.next("up", since);
      await p.b.waitForTask(first, ["complete"], DEADLINE_MS);
      // Listening again: the next one is a plain wake-up.
      const second = await inject(p.a, sid, "after the reconnect");
      await p.b.waitForTask(second, ["complete"], DEADLINE_MS);
    } finally {
      await p.close();
    }
  });
});

for (const backend of ALL_BACKENDS) {
  describe(`wake-ups on one instance (${backend})`, runsOn(backend), () => {
    test("an injected task starts at once with a 10 s poll (in-process signal)", async () => {
      const t = await startTestApp({ backend, tuning: LONG_POLL });
      try {
        const sid = await t.session("wake:local");
        const taskId = await inject(t, sid, "hello");
        await t.waitForTask(taskId, ["complete"], DEADLINE_MS);
        const second = await inject(t, sid, "again");
        await t.waitForTask(second, ["complete"], DEADLINE_MS);
      } finally {
        await t.close();
      }
    });
  });
}

describe("the wake-up bus over a fake channel", () => {
  /** A channel whose sends wait until released; records payloads. */
  function fakeChannel() {
    const sent: string[] = [];
    const releases: Array<() => void> = [];
    let handlers: WakeChannelHandlers | undefined;
    const channel: WakeChannel = {
      scope: "postgres",
      send(payload) {
        sent.push(payload);
        return new Promise<void>((r) => releases.push(r));
      },
      start(h) {
        handlers = h;
        h.up();
      },
      async stop() {},
    };
    return { channel, sent, releases, deliver: (p: string) => handlers!.message(p) };
  }

  test("a burst of tells sends one NOTIFY, then exactly one more after it", async () => {
    const f = fakeChannel();
    const events: WakeupEvent[] = [];
    const bus = new WakeupBus({
      channel: f.channel,
      origin: "me",
      log: pino({ level: "silent" }),
      onEvent: (e) => events.push(e),
    });
    bus.start();
    for (let i = 0; i < 100; i++) bus.tell("task");
    bus.tell("delivery");
    assert.deepEqual(f.sent, ["task me", "delivery me"]);
    f.releases.shift()!();
    // The follow-up is sent once the first one is done (a microtask later).
    while (f.sent.length < 3) await new Promise((r) => setImmediate(r));
    assert.deepEqual(f.sent, ["task me", "delivery me", "task me"]);
    for (const r of f.releases.splice(0)) r();
    await bus.stop();
    assert.equal(f.sent.length, 3, "no further NOTIFY");
  });

  test("a wake-up from another instance wakes the handlers; its own is ignored", async () => {
    const f = fakeChannel();
    const bus = new WakeupBus({ channel: f.channel, origin: "me", log: pino({ level: "silent" }) });
    const woken: string[] = [];
    bus.on("task", () => woken.push("task"));
    bus.on("job", () => woken.push("job"));
    bus.start();
    assert.deepEqual(woken, ["task", "job"], "listening: one look for every kind");
    woken.length = 0;
    f.deliver("task me");
    f.deliver("job other");
    f.deliver("nonsense other");
    assert.deepEqual(woken, ["job"]);
    await bus.stop();
  });
});
