/**
 * The task queue at its edges (written for mutation testing, `npm run mutate -- task-queue`):
 * the storage (src/store/tasks.ts: insert defaults, row conversion, listings, conditional
 * finish, counts), the lease queries (src/store/task-leases.ts: claim, renew, release,
 * expiry, each at its time and attempt boundaries, with `Date` mocked to a fixed instant),
 * and the worker (src/tasks/worker.ts: claim tokens, batches, renewal, time limits,
 * cancels, lost leases, shutdown release, reaping, error texts). One SQLite store for the
 * whole file; every test starts from an empty queue.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, afterEach, before, beforeEach, describe, mock, test } from "node:test";
import pino from "pino";
import { Store } from "../src/store/index.ts";
import type { TasksTable } from "../src/store/schema.ts";
import type { NewTask, Task } from "../src/store/tasks.ts";
import { TaskFinisher } from "../src/tasks/finish.ts";
import { type TaskOutput, TaskWorker, type TaskWorkerOptions } from "../src/tasks/worker.ts";
import { createTestDatabase, type TestDatabase } from "./support/db.ts";
import { until as untilRaw } from "./support/wait.ts";

let tdb: TestDatabase;
let store: Store;

before(async () => {
  tdb = await createTestDatabase("sqlite");
  store = await Store.open(tdb.url);
});
after(async () => {
  await store?.close();
  await tdb?.drop();
});
beforeEach(async () => {
  const k = store.db.kysely;
  await k.deleteFrom("turn_checkpoints").execute();
  await k.deleteFrom("deliveries").execute();
  await k.deleteFrom("messages").execute();
  await k.deleteFrom("tasks").execute();
  await k.deleteFrom("sessions").execute();
});

/** Inserts a pending task of `sessionId` (bot "b", dispatch "none"). */
function addTask(sessionId: string, extra: Partial<NewTask> = {}): Promise<Task> {
  return store.tasks.insert({
    sessionId,
    botId: "b",
    prompt: `prompt for ${sessionId}`,
    dispatchType: "none",
    ...extra,
  });
}

/** Overwrites columns of a task row directly. */
async function setRow(id: string, cols: Partial<TasksTable>): Promise<void> {
  await store.db.kysely.updateTable("tasks").set(cols).where("id", "=", id).execute();
}

/** The raw row of a task. */
async function row(id: string): Promise<TasksTable> {
  return await store.db.kysely
    .selectFrom("tasks")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
}

async function mustGet(id: string): Promise<Task> {
  const t = await store.tasks.get(id);
  assert.ok(t, `task ${id} exists`);
  return t;
}

/** A full task row with the given id (for ids that must sort in a chosen order). */
function rawRow(id: string, sessionId: string, at: number, extra: Partial<TasksTable> = {}) {
  const r: TasksTable = {
    id,
    session_id: sessionId,
    bot_id: "b",
    message_id: null,
    prompt: "p",
    status: "pending",
    result: null,
    error: null,
    dispatch_type: "none",
    dispatch_config: null,
    execution_config: null,
    callback_config: null,
    max_run_seconds: null,
    attempts: 0,
    max_attempts: 3,
    lease_owner: null,
    lease_expires_at: null,
    created_at: at,
    run_at: at,
    started_at: null,
    completed_at: null,
    warnings: null,
    parent_task_id: null,
    traceparent: null,
    ...extra,
  };
  return r;
}

const T0 = 1_800_000_000_000;

/** A worker's failed pass, as logged by its loop (a pass must never fail). */
let passFailure: Record<string, unknown> | undefined;
beforeEach(() => {
  passFailure = undefined;
});

/** {@link untilRaw}, failing at once when a worker pass failed instead of waiting it out. */
function until<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs?: number,
): Promise<T> {
  return untilRaw(
    () => {
      if (passFailure) throw new Error(`a worker pass failed: ${JSON.stringify(passFailure.err)}`);
      return fn();
    },
    what,
    timeoutMs,
  );
}

describe("store: tasks with a fixed clock", () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ["Date"], now: T0 });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  test("insert: defaults, and the returned task is the stored one", async () => {
    const t = await addTask("S");
    assert.equal(t.status, "pending");
    assert.equal(t.attempts, 0);
    assert.equal(t.maxAttempts, 3);
    assert.equal(t.messageId, null);
    assert.equal(t.maxRunSeconds, null);
    assert.equal(t.createdAt, T0);
    assert.equal(t.runAt, T0);
    assert.equal(t.traceparent, null);
    assert.equal(t.leaseOwner, null);
    assert.equal(t.leaseExpiresAt, null);
    assert.equal(t.startedAt, null);
    assert.equal(t.completedAt, null);
    assert.deepEqual(t.warnings, []);
    assert.equal(t.inputTokens, null);
    assert.equal(t.outputTokens, null);
    assert.equal(t.totalTokens, null);
    assert.equal(t.dispatchConfig, null);
    assert.deepEqual(await mustGet(t.id), t);
    const r = await row(t.id);
    assert.equal(r.status, "pending");
    assert.equal(r.parent_task_id, null);
  });

  test("insert: given fields are kept, and the row converts back field by field", async () => {
    const t = await addTask("S", {
      messageId: "m1",
      maxAttempts: 5,
      maxRunSeconds: 7,
      runAt: T0 + 5,
      traceparent: "00-abc-def-01",
      dispatchConfig: { to: "x" },
      executionConfig: { model: "fake:m" } as NewTask["executionConfig"],
      callbackConfig: { parent_task_id: "parent-1" },
    });
    const expect = {
      messageId: "m1",
      maxAttempts: 5,
      maxRunSeconds: 7,
      runAt: T0 + 5,
      traceparent: "00-abc-def-01",
      dispatchConfig: { to: "x" },
      executionConfig: { model: "fake:m" },
      callbackConfig: { parent_task_id: "parent-1" },
      sessionId: "S",
      botId: "b",
      prompt: "prompt for S",
      dispatchType: "none",
    };
    for (const got of [t, await mustGet(t.id)]) {
      for (const [k, v] of Object.entries(expect)) {
        assert.deepEqual(got[k as keyof Task], v, k);
      }
    }
    assert.equal((await row(t.id)).parent_task_id, "parent-1");
    await setRow(t.id, {
      input_tokens: 11,
      output_tokens: 22,
      total_tokens: 33,
      started_at: T0 + 1,
      completed_at: T0 + 2,
      lease_expires_at: T0 + 3,
      warnings: JSON.stringify(["w"]),
      result: "r",
      error: "e",
      lease_owner: "o",
    });
    const g = await mustGet(t.id);
    assert.deepEqual(
      [g.inputTokens, g.outputTokens, g.totalTokens, g.startedAt, g.completedAt],
      [11, 22, 33, T0 + 1, T0 + 2],
    );
    assert.deepEqual([g.leaseExpiresAt, g.warnings, g.result, g.error], [T0 + 3, ["w"], "r", "e"]);
    assert.equal(g.leaseOwner, "o");
  });

  test("parent_task_id: only a non-empty string", async () => {
    const ok = await addTask("S", { callbackConfig: { parent_task_id: "p" } });
    const num = await addTask("S", { callbackConfig: { parent_task_id: 5 } });
    const empty = await addTask("S", { callbackConfig: { parent_task_id: "" } });
    const none = await addTask("S", { callbackConfig: { other: 1 } });
    assert.equal((await row(ok.id)).parent_task_id, "p");
    for (const t of [num, empty, none]) assert.equal((await row(t.id)).parent_task_id, null);
    assert.equal(await store.tasks.countChildren("p"), 1);
    assert.equal(await store.tasks.countChildren("5"), 0);
    assert.equal(await store.tasks.countChildren(""), 0);
    assert.equal(await store.tasks.countChildren("nobody"), 0);
  });

  test("get: unknown id is undefined", async () => {
    assert.equal(await store.tasks.get("no-such-task"), undefined);
  });

  test("list: each filter narrows, newest first, limit and keyset", async () => {
    const k = store.db.kysely;
    await k
      .insertInto("sessions")
      .values([
        {
          id: "s1",
          bot_id: "b",
          client_id: "web:alice",
          dispatch_config: null,
          created_at: T0,
          updated_at: T0,
        },
        {
          id: "s2",
          bot_id: "b",
          client_id: "Web:bob",
          dispatch_config: null,
          created_at: T0,
          updated_at: T0,
        },
      ])
      .execute();
    await k
      .insertInto("tasks")
      .values([
        rawRow("t1", "s1", T0 - 10),
        rawRow("t2", "s1", T0, { status: "complete" }),
        rawRow("t3", "s2", T0, { bot_id: "c" }),
        rawRow("t4", "s2", T0 + 10, { status: "failed" }),
      ])
      .execute();
    const ids = async (f: Parameters<typeof store.tasks.list>[0]) =>
      (await store.tasks.list(f)).map((t) => t.id);
    assert.deepEqual(await ids({ limit: 10 }), ["t4", "t3", "t2", "t1"]);
    assert.deepEqual(await ids({ limit: 2 }), ["t4", "t3"]);
    assert.deepEqual(await ids({ limit: 10, botId: "c" }), ["t3"]);
    assert.deepEqual(await ids({ limit: 10, sessionId: "s1" }), ["t2", "t1"]);
    assert.deepEqual(await ids({ limit: 10, status: "failed" }), ["t4"]);
    assert.deepEqual(await ids({ limit: 10, clientIdPrefix: "web:" }), ["t2", "t1"]);
    assert.deepEqual(await ids({ limit: 10, since: T0 }), ["t4", "t3", "t2"]);
    assert.deepEqual(await ids({ limit: 10, after: { createdAt: T0, id: "t3" } }), ["t2", "t1"]);
    const full = await store.tasks.list({ limit: 1, status: "complete" });
    assert.equal(full[0]?.status, "complete");
  });

  test("listChangedSince: created, started or finished at or after, oldest first", async () => {
    await store.db.kysely
      .insertInto("tasks")
      .values([
        rawRow("a-old", "s", T0 - 100),
        rawRow("b-started", "s", T0 - 90, { started_at: T0 }),
        rawRow("c-done", "s", T0 - 80, { started_at: T0 - 80, completed_at: T0 }),
        rawRow("d-new", "s", T0),
        rawRow("d0-new", "s", T0),
        rawRow("e-new", "s", T0 + 1),
        rawRow("f-started-before", "s", T0 - 70, { started_at: T0 - 1, completed_at: T0 - 1 }),
      ])
      .execute();
    const got = (await store.tasks.listChangedSince(T0, 10)).map((t) => t.id);
    assert.deepEqual(got, ["b-started", "c-done", "d-new", "d0-new", "e-new"]);
    assert.deepEqual(
      (await store.tasks.listChangedSince(T0, 2)).map((t) => t.id),
      ["b-started", "c-done"],
    );
  });

  test("finish: guarded by status and owner; sets the outcome; drops the parked turn", async () => {
    const t = await addTask("S");
    const checkpoint = {
      task_id: t.id,
      messages: "[]",
      model: "fake:m",
      steps: 1,
      tool_calls: 0,
      updated_at: T0,
    };
    await store.db.kysely.insertInto("turn_checkpoints").values(checkpoint).execute();
    const [c] = await store.taskLeases.claim("w#1", 1, 1000);
    assert.equal(c?.id, t.id);
    const checkpoints = async () =>
      (
        await store.db.kysely
          .selectFrom("turn_checkpoints")
          .select("task_id")
          .where("task_id", "=", t.id)
          .execute()
      ).length;

    assert.equal(
      await store.tasks.finish(t.id, { status: "complete", result: "x" }, { from: ["pending"] }),
      false,
      "not pending",
    );
    assert.equal(
      await store.tasks.finish(
        t.id,
        { status: "complete", result: "x" },
        { from: ["running"], owner: "w#2" },
      ),
      false,
      "not w#2's",
    );
    assert.equal(await checkpoints(), 1, "a refused finish keeps the parked turn");
    assert.equal((await mustGet(t.id)).status, "running");

    mock.timers.tick(50);
    assert.equal(
      await store.tasks.finish(
        t.id,
        { status: "complete", result: "done" },
        { from: ["pending", "running"], owner: "w#1" },
      ),
      true,
    );
    const g = await mustGet(t.id);
    assert.deepEqual(
      [g.status, g.result, g.error, g.leaseOwner, g.leaseExpiresAt, g.completedAt],
      ["complete", "done", null, null, null, T0 + 50],
    );
    assert.equal(await checkpoints(), 0);

    // Without an owner any holder's task can be moved; an error is kept.
    const u = await addTask("U");
    await store.taskLeases.claim("w#3", 1, 1000);
    assert.equal(
      await store.tasks.finish(u.id, { status: "failed", error: "boom" }, { from: ["running"] }),
      true,
    );
    const f = await mustGet(u.id);
    assert.deepEqual([f.status, f.result, f.error], ["failed", null, "boom"]);
  });

  test("setWarnings: a list, or null for none", async () => {
    const t = await addTask("S");
    await store.tasks.setWarnings(t.id, ["a", "b"]);
    assert.deepEqual((await mustGet(t.id)).warnings, ["a", "b"]);
    assert.equal((await row(t.id)).warnings, '["a","b"]');
    await store.tasks.setWarnings(t.id, []);
    assert.equal((await row(t.id)).warnings, null);
    assert.deepEqual((await mustGet(t.id)).warnings, []);
  });

  test("countByStatus and countDue (run_at at or before now)", async () => {
    assert.deepEqual(await store.tasks.countByStatus(), []);
    assert.equal(await store.tasks.countDue(T0), 0);
    await addTask("A", { runAt: T0 });
    await addTask("B", { runAt: T0 + 1 });
    const c = await addTask("C");
    await setRow(c.id, { status: "failed" });
    const counts = await store.tasks.countByStatus();
    assert.deepEqual(
      [...counts].sort((a, b) => a.status.localeCompare(b.status)),
      [
        { status: "failed", count: 1 },
        { status: "pending", count: 2 },
      ],
    );
    assert.equal(await store.tasks.countDue(T0), 1);
    assert.equal(await store.tasks.countDue(T0 + 1), 2);
    assert.equal(await store.tasks.countDue(T0 - 1), 0);
  });
});

describe("store: task leases with a fixed clock", () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ["Date"], now: T0 });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  test("claim: due at run_at exactly, lease until now + leaseMs, attempts + 1", async () => {
    const due = await addTask("A", { runAt: T0 });
    const later = await addTask("B", { runAt: T0 + 1 });
    const got = await store.taskLeases.claim("w#1", 10, 5000);
    assert.deepEqual(
      got.map((t) => t.id),
      [due.id],
    );
    const [c] = got;
    assert.ok(c);
    assert.deepEqual(
      [c.status, c.leaseOwner, c.leaseExpiresAt, c.attempts, c.startedAt],
      ["running", "w#1", T0 + 5000, 1, T0],
    );
    assert.deepEqual(await mustGet(due.id), c);
    mock.timers.tick(1);
    assert.deepEqual(
      (await store.taskLeases.claim("w#2", 10, 5000)).map((t) => t.id),
      [later.id],
    );
  });

  test("claim: at most limit, one per session, none while its session runs or waits", async () => {
    const a1 = await addTask("A");
    await addTask("A");
    const b1 = await addTask("B");
    const c1 = await addTask("C");
    await setRow(c1.id, { status: "waiting_approval" });
    await addTask("C");
    assert.deepEqual(
      (await store.taskLeases.claim("w#1", 1, 1000)).map((t) => t.id),
      [a1.id],
    );
    assert.deepEqual(
      (await store.taskLeases.claim("w#2", 5, 1000)).map((t) => t.id),
      [b1.id],
    );
    assert.deepEqual(await store.taskLeases.claim("w#3", 5, 1000), []);
  });

  test("claim: returned oldest (lowest id) first whatever the row order", async () => {
    // Inserted newest id first, so the table's own order is the reverse of the ids'.
    const rows = ["t9", "t8", "t7", "t6", "t5", "t4", "t3", "t2", "t1"].map((id) =>
      rawRow(id, `s-${id}`, T0),
    );
    for (const r of rows) await store.db.kysely.insertInto("tasks").values(r).execute();
    const got = await store.taskLeases.claim("w#1", 20, 1000);
    assert.deepEqual(
      got.map((t) => t.id),
      ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"],
    );
  });

  test("renewLeases: by token, running tasks only, to now + leaseMs", async () => {
    const a = await addTask("A");
    const b = await addTask("B");
    const c = await addTask("C");
    await store.taskLeases.claim("w#1", 2, 1000); // a and b
    await store.taskLeases.claim("x#1", 1, 1000); // c
    await setRow(b.id, { status: "waiting_approval" }); // keeps its owner, not running
    mock.timers.tick(100);
    assert.deepEqual(await store.taskLeases.renewLeases([], 9000), []);
    assert.deepEqual(await store.taskLeases.renewLeases(["w#1", "w#1", "gone"], 9000), [a.id]);
    assert.equal((await mustGet(a.id)).leaseExpiresAt, T0 + 100 + 9000);
    assert.equal((await mustGet(b.id)).leaseExpiresAt, T0 + 1000);
    assert.equal((await mustGet(c.id)).leaseExpiresAt, T0 + 1000);
    const both = await store.taskLeases.renewLeases(["w#1", "x#1"], 9000);
    assert.deepEqual([...both].sort(), [a.id, c.id].sort());
  });

  test("runningLeaseOwners: one token per running leased task", async () => {
    await addTask("A");
    await addTask("B");
    const c = await addTask("C");
    const d = await addTask("D");
    await store.taskLeases.claim("w#1", 2, 1000);
    await store.taskLeases.claim("x#1", 2, 1000);
    await setRow(c.id, { lease_owner: null }); // running without an owner
    await setRow(d.id, { status: "waiting_approval" });
    const e = await addTask("E");
    await setRow(e.id, { lease_owner: "pending-owner" });
    assert.deepEqual((await store.taskLeases.runningLeaseOwners()).sort(), ["w#1", "w#1"]);
  });

  test("release: back to pending without counting the attempt, only by its holder", async () => {
    const t = await addTask("A");
    await store.taskLeases.claim("w#1", 1, 1000);
    assert.equal(await store.taskLeases.release(t.id, "w#2"), false);
    assert.equal(await store.taskLeases.release("other-id", "w#1"), false);
    assert.equal((await mustGet(t.id)).status, "running");
    assert.equal(await store.taskLeases.release(t.id, "w#1"), true);
    const g = await mustGet(t.id);
    assert.deepEqual(
      [g.status, g.leaseOwner, g.leaseExpiresAt, g.attempts],
      ["pending", null, null, 0],
    );
    assert.equal(await store.taskLeases.release(t.id, "w#1"), false, "no longer running");
    await setRow(t.id, { lease_owner: "w#1" });
    assert.equal(await store.taskLeases.release(t.id, "w#1"), false, "pending, not running");
  });

  test("reapExpired: lease before now only; attempts left → pending, none left → returned", async () => {
    const left = await addTask("A");
    const exhausted = await addTask("B");
    const atNow = await addTask("C");
    const notRunning = await addTask("D");
    const atNowLeft = await addTask("E");
    await store.taskLeases.claim("w#1", 5, 1000);
    await setRow(atNowLeft.id, { lease_expires_at: T0, attempts: 1, max_attempts: 3 });
    await setRow(left.id, { lease_expires_at: T0 - 1, attempts: 2, max_attempts: 3 });
    await setRow(exhausted.id, { lease_expires_at: T0 - 1, attempts: 3, max_attempts: 3 });
    await setRow(atNow.id, { lease_expires_at: T0, attempts: 3, max_attempts: 3 });
    await setRow(notRunning.id, {
      status: "waiting_approval",
      lease_expires_at: T0 - 1,
      attempts: 3,
      max_attempts: 3,
    });
    const r = await store.taskLeases.reapExpired();
    assert.equal(r.requeued, 1);
    assert.deepEqual(
      r.exhausted.map((t) => [t.id, t.status, t.attempts]),
      [[exhausted.id, "running", 3]],
    );
    const g = await mustGet(left.id);
    assert.deepEqual(
      [g.status, g.leaseOwner, g.leaseExpiresAt, g.attempts],
      ["pending", null, null, 2],
    );
    assert.equal((await mustGet(atNow.id)).status, "running");
    assert.equal((await mustGet(atNow.id)).leaseOwner, "w#1");
    assert.equal((await mustGet(atNowLeft.id)).status, "running", "a lease ending now is live");
    assert.equal((await mustGet(notRunning.id)).status, "waiting_approval");
    assert.deepEqual(
      (await store.taskLeases.requeueExpired()).map((t) => t.id),
      [exhausted.id],
    );
    mock.timers.tick(1);
    const later = await store.taskLeases.reapExpired();
    assert.equal(later.requeued, 1);
    assert.equal((await mustGet(atNowLeft.id)).status, "pending");
    assert.deepEqual(later.exhausted.map((t) => t.id).sort(), [exhausted.id, atNow.id].sort());
  });
});

// ---------------------------------------------------------------------------------------
// The worker.

/** Log lines the worker wrote (pino JSON). */
function capturedLog(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) {
        if (!l) continue;
        const line = JSON.parse(l) as Record<string, unknown>;
        if (line.msg === "work loop pass failed") passFailure = line;
        lines.push(line);
      }
      cb();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

/** A run the test finishes by hand: what `execute` got and how to end it. */
interface Run {
  task: Task;
  signal: AbortSignal;
  resolve(out: TaskOutput): void;
  reject(err: unknown): void;
}

interface Harness {
  worker: TaskWorker;
  runs: Run[];
  pokes: number;
  lines: Array<Record<string, unknown>>;
  /** The run of the task with this id (latest first), once `execute` got it. */
  runOf(id: string): Promise<Run>;
}

const workers: TaskWorker[] = [];
/** Every hand-finished run, ended after each test so none keeps its timers alive. */
const openRuns: Run[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(0);
  for (const r of openRuns.splice(0)) r.reject(new Error("test over"));
});

function harness(
  opts: Partial<TaskWorkerOptions> & {
    auto?: (t: Task, s: AbortSignal) => Promise<TaskOutput>;
  } = {},
): Harness {
  const { log, lines } = capturedLog();
  const runs: Run[] = [];
  const h: Harness = {
    worker: undefined as unknown as TaskWorker,
    runs,
    pokes: 0,
    lines,
    runOf: (id) =>
      until(() => [...runs].reverse().find((r) => r.task.id === id), `the run of ${id}`, 5000),
  };
  const { auto, ...rest } = opts;
  h.worker = new TaskWorker({
    store,
    finisher: new TaskFinisher(store, () => {}),
    log,
    owner: "w",
    concurrency: 2,
    pollMs: 60_000,
    defaultMaxRunSeconds: 600,
    onPoke: () => {
      h.pokes++;
    },
    execute: (task, signal) => {
      if (auto) return auto(task, signal);
      return new Promise<TaskOutput>((resolve, reject) => {
        runs.push({ task, signal, resolve, reject });
        openRuns.push({ task, signal, resolve, reject });
      });
    },
    ...rest,
  });
  workers.push(h.worker);
  return h;
}

async function statusOf(id: string, want: string): Promise<Task> {
  return until(
    async () => {
      const t = await store.tasks.get(id);
      return t?.status === want ? t : undefined;
    },
    `task ${id} to be ${want}`,
    5000,
  );
}

describe("worker", () => {
  test("claims with a fresh token per claim, completes with the output and its metadata", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 1 });
    h.worker.start();
    const ra = await h.runOf(a.id);
    assert.equal(ra.task.leaseOwner, "w#1");
    assert.equal(ra.task.leaseExpiresAt! - ra.task.startedAt!, 30_000, "default lease");
    assert.equal(h.worker.activeCount, 1);
    ra.resolve({ text: "answer", model: "fake:m", notes: ["n1"] });
    const done = await statusOf(a.id, "complete");
    assert.equal(done.result, "answer");
    const msgs = await store.db.kysely.selectFrom("messages").selectAll().execute();
    assert.equal(msgs.length, 1);
    assert.deepEqual(JSON.parse(msgs[0]!.metadata), {
      source: "agent",
      task_id: a.id,
      model: "fake:m",
      notes: ["n1"],
    });
    await until(() => h.worker.activeCount === 0, "the slot to free");
    // The next task is claimed when the run ends (no poll: pollMs is a minute), new token.
    const b = await addTask("B");
    h.worker.wake();
    const rb = await h.runOf(b.id);
    // (The run's end looked once more: that claim, w#2, found nothing.)
    assert.equal(rb.task.leaseOwner, "w#3");
    rb.resolve({ text: "2" });
    await statusOf(b.id, "complete");
  });

  test("a full batch pokes the others and looks again; a partial one does not", async () => {
    const ids = [];
    for (const s of ["A", "B", "C"]) ids.push((await addTask(s)).id);
    const h = harness({ concurrency: 2 });
    h.worker.start();
    const r0 = await h.runOf(ids[0]!);
    await h.runOf(ids[1]!);
    assert.equal(h.pokes, 1, "the full batch told the others");
    assert.equal(h.runs.length, 2);
    assert.equal(h.worker.activeCount, 2);
    r0.resolve({ text: "ok" });
    // The freed slot takes C (claim of 1 with 1 free: full again).
    const r2 = await h.runOf(ids[2]!);
    assert.equal(r2.task.leaseOwner, "w#2");
    assert.equal(h.pokes, 2);
    for (const r of h.runs) r.resolve({ text: "ok" });
    for (const id of ids) await statusOf(id, "complete");
    // A claim that finds less than its free slots does not poke.
    const pokes = h.pokes;
    const d = await addTask("D");
    h.worker.taskCreated("D");
    (await h.runOf(d.id)).resolve({ text: "ok" });
    await statusOf(d.id, "complete");
    assert.equal(h.pokes, pokes);
  });

  test("poke tells the others only when there is no room; wake never does", async () => {
    const h = harness({ concurrency: 1 });
    h.worker.poke();
    assert.equal(h.pokes, 1, "not started: no room");
    h.worker.wake();
    assert.equal(h.pokes, 1);
    h.worker.taskCreated("X");
    assert.equal(h.pokes, 2, "not started: others are told of a new task");
    h.worker.start();
    await until(async () => (await store.taskLeases.runningLeaseOwners()).length === 0, "idle");
    h.worker.poke();
    assert.equal(h.pokes, 2, "room: nobody else is told");
    h.worker.taskCreated("X");
    assert.equal(h.pokes, 2);
    const a = await addTask("A");
    h.worker.wake();
    const ra = await h.runOf(a.id);
    const before = h.pokes;
    h.worker.poke();
    assert.equal(h.pokes, before + 1, "full: the others are told");
    h.worker.taskCreated("Y");
    assert.equal(h.pokes, before + 2);
    ra.resolve({ text: "ok" });
    await statusOf(a.id, "complete");
    await h.worker.stop(0);
    h.worker.poke();
    assert.equal(h.pokes, before + 3, "stopped: no room");
  });

  test("concurrency 0 claims nothing", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 0 });
    let claims = 0;
    const orig = store.taskLeases.claim.bind(store.taskLeases);
    const spy = mock.method(store.taskLeases, "claim", (...args: Parameters<typeof orig>) => {
      claims++;
      return orig(...args);
    });
    try {
      h.worker.start();
      h.worker.wake();
      await h.worker.stop(0);
      assert.equal(claims, 0);
      assert.equal((await mustGet(a.id)).status, "pending");
    } finally {
      spy.mock.restore();
    }
  });

  test("taskCreated for a session this worker runs does not claim; another session does", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 2 });
    h.worker.start();
    const ra = await h.runOf(a.id);
    let claims = 0;
    const orig = store.taskLeases.claim.bind(store.taskLeases);
    const spy = mock.method(store.taskLeases, "claim", (...args: Parameters<typeof orig>) => {
      claims++;
      return orig(...args);
    });
    try {
      await addTask("A");
      h.worker.taskCreated("A");
      const b = await addTask("B");
      h.worker.taskCreated("B");
      const rb = await h.runOf(b.id);
      assert.equal(claims, 1, "one claim: for B only");
      rb.resolve({ text: "ok" });
      ra.resolve({ text: "ok" });
      await statusOf(b.id, "complete");
      await statusOf(a.id, "complete");
    } finally {
      spy.mock.restore();
    }
  });

  test("failures: the error text, truncated past 2000 characters, a non-Error, undefined", async () => {
    const exact = "x".repeat(2000);
    const long = "y".repeat(2001);
    const msgs: Record<string, unknown> = {
      A: new Error("plain failure"),
      B: new Error(exact),
      C: new Error(long),
      D: "a string",
      E: undefined,
    };
    const ids: Record<string, string> = {};
    for (const s of Object.keys(msgs)) ids[s] = (await addTask(s)).id;
    const h = harness({
      concurrency: 5,
      auto: async (t) => {
        throw msgs[t.sessionId];
      },
    });
    h.worker.start();
    const err = async (s: string) => (await statusOf(ids[s]!, "failed")).error;
    assert.equal(await err("A"), "plain failure");
    assert.equal(await err("B"), exact);
    assert.equal(await err("C"), `${"y".repeat(2000)}…`);
    assert.equal(await err("D"), "a string");
    assert.equal(await err("E"), "undefined");
  });

  test("time limit: the task's own, in seconds; within it the run completes", async () => {
    const slow = await addTask("A", { maxRunSeconds: 0.05 });
    const fast = await addTask("B", { maxRunSeconds: 5 });
    const huge = await addTask("C", { maxRunSeconds: 1e9 });
    let aborted: unknown;
    const h = harness({
      concurrency: 3,
      auto: (t, signal) => {
        if (t.id === slow.id) {
          return new Promise((_, reject) =>
            signal.addEventListener("abort", () => {
              aborted = signal.reason;
              reject(new Error("stopped"));
            }),
          );
        }
        return new Promise((res) => setTimeout(() => res({ text: "in time" }), 150));
      },
    });
    h.worker.start();
    assert.equal((await statusOf(slow.id, "failed")).error, "Timed out after 0.05s");
    assert.ok(aborted instanceof Error);
    assert.equal((await statusOf(fast.id, "complete")).result, "in time");
    assert.equal((await statusOf(huge.id, "complete")).result, "in time");
  });

  test("time limit: the default applies to tasks without one; a run ignoring its signal still fails", async () => {
    const t = await addTask("A");
    const h = harness({
      concurrency: 1,
      defaultMaxRunSeconds: 0.05,
      auto: () => new Promise(() => {}),
    });
    h.worker.start();
    assert.equal((await statusOf(t.id, "failed")).error, "Timed out after 0.05s");
    await until(() => h.worker.activeCount === 0, "the slot to free");
  });

  test("a parked run is not finished", async () => {
    const t = await addTask("A");
    let ran = false;
    const h = harness({
      concurrency: 1,
      auto: async () => {
        ran = true;
        return { text: "", parked: true };
      },
    });
    h.worker.start();
    await until(() => ran && h.worker.activeCount === 0, "the run to end");
    const g = await mustGet(t.id);
    assert.equal(g.status, "running");
    assert.equal(g.result, null);
  });

  test("abortLocal: a cancelled run stops without writing anything", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 1 });
    assert.equal(h.worker.abortLocal(a.id), false, "not running here");
    h.worker.start();
    const ra = await h.runOf(a.id);
    assert.equal(
      await store.tasks.finish(a.id, { status: "cancelled" }, { from: ["running"] }),
      true,
    );
    assert.equal(h.worker.abortLocal(a.id), true);
    assert.ok(ra.signal.aborted);
    assert.equal((ra.signal.reason as Error).message, "Task cancelled");
    await until(() => h.worker.activeCount === 0, "the run to end");
    const g = await mustGet(a.id);
    assert.deepEqual([g.status, g.error], ["cancelled", null]);
    assert.ok(!h.lines.some((l) => l.msg === "could not record task outcome"));
  });

  test("renewal extends the leases; a task that lost its lease is aborted, its claim-mate runs on", async () => {
    const a = await addTask("A");
    const b = await addTask("B");
    const h = harness({ concurrency: 2, leaseMs: 150 });
    h.worker.start();
    const ra = await h.runOf(a.id);
    const rb = await h.runOf(b.id);
    assert.equal(ra.task.leaseOwner, rb.task.leaseOwner, "one claim, one token");
    const first = ra.task.leaseExpiresAt!;
    await until(
      async () => ((await mustGet(a.id)).leaseExpiresAt ?? 0) > first,
      "the lease to be renewed",
      2000,
    );
    // Another instance cancels B (no local abort): the renewal finds it gone.
    await store.tasks.finish(b.id, { status: "cancelled" }, { from: ["running"] });
    await until(() => rb.signal.aborted, "B's run to be aborted", 3000);
    assert.equal((rb.signal.reason as Error).message, "lease lost");
    assert.equal(ra.signal.aborted, false);
    ra.resolve({ text: "A done" });
    assert.equal((await statusOf(a.id, "complete")).result, "A done");
    assert.equal((await mustGet(b.id)).status, "cancelled");
  });

  test("stop: running tasks that end within the grace finish; the rest are released", async () => {
    const a = await addTask("A");
    const b = await addTask("B");
    const h = harness({ concurrency: 2 });
    h.worker.start();
    const ra = await h.runOf(a.id);
    const rb = await h.runOf(b.id);
    setTimeout(() => ra.resolve({ text: "A done" }), 20);
    // B resolves on its own after the abort; its outcome must not be written.
    rb.signal.addEventListener("abort", () => rb.resolve({ text: "too late" }));
    await h.worker.stop(300);
    assert.equal((await mustGet(a.id)).status, "complete");
    const g = await mustGet(b.id);
    assert.deepEqual([g.status, g.leaseOwner, g.attempts, g.result], ["pending", null, 0, null]);
    assert.equal((rb.signal.reason as Error).message, "shutting down");
    // Started again it claims once more.
    h.worker.start();
    const rb2 = await until(
      () => h.runs.find((r) => r.task.id === b.id && r !== rb),
      "B's second run",
      5000,
    );
    rb2.resolve({ text: "B done" });
    await statusOf(b.id, "complete");
  });

  test("stop: all runs ended within the grace, nothing is aborted", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 1 });
    h.worker.start();
    const ra = await h.runOf(a.id);
    setTimeout(() => ra.resolve({ text: "A done" }), 30);
    await h.worker.stop(5000);
    assert.equal(ra.signal.aborted, false);
    assert.equal((await mustGet(a.id)).status, "complete");
  });

  test("reaping: exhausted tasks fail with the attempts named; requeued ones are claimed at once", async () => {
    const dead = await addTask("A");
    const back = await addTask("B");
    await store.taskLeases.claim("gone#1", 2, 1000);
    await setRow(dead.id, { lease_expires_at: Date.now() - 10, attempts: 3, max_attempts: 3 });
    await setRow(back.id, { lease_expires_at: Date.now() - 10, attempts: 1, max_attempts: 3 });
    const h = harness({ concurrency: 2 });
    h.worker.start();
    const msg =
      "Task failed after 3 attempts: its worker stopped renewing the lease (crash or restart)";
    assert.equal((await statusOf(dead.id, "failed")).error, msg);
    const rb = await h.runOf(back.id);
    assert.equal(rb.task.attempts, 2);
    await until(() => h.lines.find((l) => l.msg === msg && l.task_id === dead.id), "the warning");
    rb.resolve({ text: "ok" });
    await statusOf(back.id, "complete");
  });

  test("reaping with no free slot tells the others", async () => {
    const busy = await addTask("A");
    const back = await addTask("B");
    const h = harness({ concurrency: 1, pollMs: 30 });
    h.worker.start();
    const ra = await h.runOf(busy.id);
    const pokes = h.pokes;
    await store.taskLeases.claim("gone#1", 1, 1000);
    await setRow(back.id, { lease_expires_at: Date.now() - 10, attempts: 1, max_attempts: 3 });
    await statusOf(back.id, "pending");
    await until(() => h.pokes > pokes, "the others to be told");
    ra.resolve({ text: "ok" });
    const rb = await h.runOf(back.id);
    rb.resolve({ text: "ok" });
    await statusOf(back.id, "complete");
  });

  test("a task claimed again while its old run goes on: the old run loses it", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 2, pollMs: 20 });
    h.worker.start();
    const r1 = await h.runOf(a.id);
    // Its lease ran out (a stalled renewal): the reaper requeues it, this worker re-claims.
    await setRow(a.id, { lease_expires_at: Date.now() - 10 });
    const r2 = await until(
      () => h.runs.find((r) => r.task.id === a.id && r !== r1),
      "the second run",
      5000,
    );
    assert.equal((r1.signal.reason as Error)?.message, "lease lost");
    assert.equal(r2.signal.aborted, false);
    // The old run has ended (its abort settles in microtasks); the new one is still tracked.
    await new Promise((r) => setImmediate(r));
    assert.equal(h.worker.activeCount, 1);
    r1.resolve({ text: "old" });
    r2.resolve({ text: "new" });
    assert.equal((await statusOf(a.id, "complete")).result, "new");
    assert.equal(r2.task.attempts, 2);
  });

  test("a store failure while finishing is logged, not thrown", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 1, auto: async () => ({ text: "x" }) });
    const spy = mock.method(store, "transaction", async () => {
      throw new Error("db down");
    });
    try {
      h.worker.start();
      await until(
        () => h.lines.find((l) => l.msg === "could not record task outcome" && l.task_id === a.id),
        "the error to be logged",
      );
    } finally {
      spy.mock.restore();
    }
  });

  test("a failing renewal is logged", async () => {
    await addTask("A");
    const h = harness({ concurrency: 1, leaseMs: 150 });
    const spy = mock.method(store.taskLeases, "renewLeases", async () => {
      throw new Error("db down");
    });
    try {
      h.worker.start();
      const line = await until(
        () => h.lines.find((l) => l.msg === "lease renewal failed"),
        "the log line",
        3000,
      );
      assert.equal((line.err as { message?: string } | undefined)?.message, "db down");
    } finally {
      spy.mock.restore();
    }
  });

  test("abortLocal alone (status untouched): the run stops and writes no outcome", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 1 });
    h.worker.start();
    const ra = await h.runOf(a.id);
    assert.equal(h.worker.abortLocal(a.id), true);
    await until(() => h.worker.activeCount === 0, "the run to end");
    const g = await mustGet(a.id);
    assert.deepEqual([g.status, g.error, g.result], ["running", null, null]);
    assert.ok(ra.signal.aborted);
  });

  test("an abort right after execute resolved still decides the outcome", async () => {
    const a = await addTask("A");
    let ran = false;
    const h = harness({
      concurrency: 1,
      auto: (t) => {
        ran = true;
        // Fires after execute returned, before the worker looks at its result.
        queueMicrotask(() => h.worker.abortLocal(t.id));
        return Promise.resolve({ text: "ignored" });
      },
    });
    h.worker.start();
    await until(() => ran && h.worker.activeCount === 0, "the run to end");
    const g = await mustGet(a.id);
    assert.deepEqual([g.status, g.result], ["running", null]);
  });

  test("a run that fails after its lease went to another holder writes nothing", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 1 });
    h.worker.start();
    const ra = await h.runOf(a.id);
    await setRow(a.id, { lease_owner: "other#1" });
    ra.reject(new Error("late failure"));
    await until(() => h.worker.activeCount === 0, "the run to end");
    const g = await mustGet(a.id);
    assert.deepEqual([g.status, g.error, g.leaseOwner], ["running", null, "other#1"]);
  });

  test("without onPoke nothing throws: poke, taskCreated, a full batch, a requeue with no room", async () => {
    const { log, lines } = capturedLog();
    const a = await addTask("A");
    const b = await addTask("B");
    const runs: Run[] = [];
    const w = new TaskWorker({
      store,
      finisher: new TaskFinisher(store, () => {}),
      log,
      owner: "np",
      concurrency: 1,
      pollMs: 30,
      defaultMaxRunSeconds: 600,
      execute: (task, signal) =>
        new Promise<TaskOutput>((resolve, reject) => runs.push({ task, signal, resolve, reject })),
    });
    workers.push(w);
    w.poke();
    w.taskCreated("A");
    w.start();
    const ra = await until(() => runs.find((r) => r.task.id === a.id), "A's run");
    w.poke();
    w.taskCreated("Z");
    // B is another's, its lease ran out: requeued with no free slot here.
    await store.taskLeases.claim("gone#1", 1, 1000);
    await setRow(b.id, { lease_expires_at: Date.now() - 10 });
    await statusOf(b.id, "pending");
    ra.resolve({ text: "ok" });
    const rb = await until(() => runs.find((r) => r.task.id === b.id), "B's run");
    rb.resolve({ text: "ok" });
    await statusOf(b.id, "complete");
    assert.deepEqual(
      lines.filter((l) => l.level === 50).map((l) => l.msg),
      [],
      "no error logged",
    );
  });

  test("stop returns once the aborted runs have released their tasks", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 1 });
    h.worker.start();
    await h.runOf(a.id);
    const orig = store.taskLeases.release.bind(store.taskLeases);
    const spy = mock.method(store.taskLeases, "release", async (id: string, owner: string) => {
      await new Promise((r) => setTimeout(r, 50));
      return orig(id, owner);
    });
    try {
      await h.worker.stop(0);
      assert.equal((await mustGet(a.id)).status, "pending");
    } finally {
      spy.mock.restore();
    }
  });
});

describe("worker with a fixed clock", () => {
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop(0);
    mock.timers.reset();
  });

  test("reaping runs on the poll's rhythm (at most every leaseMs / 2), not on every pass", async () => {
    mock.timers.enable({ apis: ["Date"], now: T0 });
    const h = harness({ concurrency: 1, pollMs: 60_000, leaseMs: 30_000 });
    // A first pass at T0 reaps (nothing) and sets the rhythm.
    h.worker.start();
    await h.worker.stop(0);
    const x = await addTask("X");
    await store.taskLeases.claim("gone#1", 1, 1000);
    await setRow(x.id, { lease_expires_at: T0 - 1 });
    const pass = async (at: number) => {
      mock.timers.setTime(at);
      h.worker.start();
      await h.worker.stop(0); // waits for the pass in progress
      return (await mustGet(x.id)).status;
    };
    assert.equal(await pass(T0 + 14_999), "running", "15 s not over: no reap");
    assert.equal(await pass(T0 + 15_000), "pending", "15 s over: reaped");
  });

  test("taskCreated with no free slot only tells the others: no pass", async () => {
    mock.timers.enable({ apis: ["Date"], now: T0 });
    const a = await addTask("A");
    const h = harness({ concurrency: 1, pollMs: 60_000, leaseMs: 30_000 });
    h.worker.start();
    const ra = await h.runOf(a.id);
    const x = await addTask("X");
    await store.taskLeases.claim("gone#1", 1, 1000);
    await setRow(x.id, { lease_expires_at: T0 - 1 });
    mock.timers.setTime(T0 + 20_000); // a pass now would reap X
    const pokes = h.pokes;
    h.worker.taskCreated("Y");
    assert.equal(h.pokes, pokes + 1);
    ra.signal.addEventListener("abort", () => ra.resolve({ text: "ok" }));
    await h.worker.stop(0); // would wait for a pass started by taskCreated
    assert.equal((await mustGet(x.id)).status, "running", "no pass ran");
  });

  test("leases are renewed every third of leaseMs", async () => {
    const a = await addTask("A");
    const h = harness({ concurrency: 1, leaseMs: 300 });
    let renewals = 0;
    const orig = store.taskLeases.renewLeases.bind(store.taskLeases);
    const spy = mock.method(store.taskLeases, "renewLeases", (...args: Parameters<typeof orig>) => {
      renewals++;
      return orig(...args);
    });
    try {
      mock.timers.enable({ apis: ["setInterval"] });
      h.worker.start();
      await h.runOf(a.id);
      mock.timers.tick(99);
      assert.equal(renewals, 0);
      mock.timers.tick(1);
      assert.equal(renewals, 1);
      mock.timers.tick(100);
      assert.equal(renewals, 2);
    } finally {
      spy.mock.restore();
    }
  });
});
