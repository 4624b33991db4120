/**
 * The scheduler beyond its slot arithmetic (written for mutation testing,
 * `npm run mutate -- scheduler`): the runner (src/scheduler/runner.ts) claiming a due slot
 * once, the missed and overlap policies, skipped and failed runs with their reasons,
 * run-now, recovery of runs recorded but never injected; the job service's merges and
 * `next_run_at` rules; the jobs.ts sync; and the loop's timer. Driven directly on a real
 * SQLite store and the real session service (no task worker: a fired run's task stays
 * pending), with an injected scheduler clock and mocked timers: nothing waits real time.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, afterEach, beforeEach, describe, mock, test } from "node:test";
import pino from "pino";
import { SchedulerLoop } from "../src/scheduler/loop.ts";
import { JobRunner, RECOVER_AFTER_MS } from "../src/scheduler/runner.ts";
import { JobInputError } from "../src/scheduler/schedule.ts";
import { createJobBody, type JobInput } from "../src/scheduler/schemas.ts";
import { JobNotFoundError, JobService, targetOf } from "../src/scheduler/service.ts";
import { jobSources, syncJobs } from "../src/scheduler/sync.ts";
import type { JobDefinition } from "../src/sdk/jobs.ts";
import { InvalidInputError, UnknownBotError } from "../src/sessions/errors.ts";
import { SessionService } from "../src/sessions/service.ts";
import { Store } from "../src/store/index.ts";
import type { Job } from "../src/store/jobs.ts";
import { createTestDatabase } from "./support/db.ts";

const SEC = 1000;
const MIN = 60_000;
const T = Date.parse("2025-01-01T00:00:00Z");

/** A logger whose lines are kept, parsed. */
function capture() {
  const lines: Array<Record<string, any>> = [];
  const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

/** A fresh SQLite store with a bot and one open session, the services on a movable clock. */
async function world() {
  const db = await createTestDatabase("sqlite");
  const store = await Store.open(db.url);
  const clock = { t: T, now: () => clock.t };
  const real = new SessionService({
    store,
    onTaskCreated: () => {},
    checkDispatch: async (type) => (type === "refused" ? "this destination is refused" : null),
  });
  /** When set, the next injection throws it (a database hiccup, say). */
  const fault: { err: Error | undefined } = { err: undefined };
  const sessions = {
    getOrCreate: (bot: string, client: string) => real.getOrCreate(bot, client),
    injectMessage: (id: string, o: Parameters<SessionService["injectMessage"]>[1]) => {
      const err = fault.err;
      fault.err = undefined;
      if (err) return Promise.reject(err);
      return real.injectMessage(id, o);
    },
  } as unknown as SessionService;
  const { log, lines } = capture();
  const runner = new JobRunner({ store, sessions, log, now: clock.now });
  const observed: Array<[string, string, string | null]> = [];
  runner.observe((id, status, reason) => observed.push([id, status, reason]));
  let changes = 0;
  const jobs = new JobService({ store, now: clock.now, onChange: () => changes++ });
  await store.bots.create({ id: "bot", model: "fake/model" });
  const session = (await real.getOrCreate("bot", "client-1")).session;
  return {
    store,
    clock,
    real,
    fault,
    runner,
    observed,
    jobs,
    lines,
    log,
    session,
    changes: () => changes,
    /** Creates a job (interval 60 s on the session by default). */
    job: (over: Partial<JobInput> = {}) =>
      jobs.create(
        createJobBody.parse({
          name: "j",
          schedule: { every_seconds: 60 },
          target: session.id,
          prompt: "tick",
          ...over,
        }),
      ),
    /** The messages of a session, oldest first. */
    messages: async (sessionId = session.id) =>
      (await store.messages.listRecent(sessionId, 100)).sort((a, b) => a.seq - b.seq),
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
}
type World = Awaited<ReturnType<typeof world>>;

describe("the runner", () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });
  afterEach(() => w.close());

  test("a slot fires at its instant, not before; the prompt is injected with the run's ids", async () => {
    const job = await w.job({ prompt: "good morning", execution_config: { tools: ["x"] } });
    assert.equal(job.nextRunAt, T + MIN);
    w.clock.t = T + MIN - 1;
    assert.equal(await w.runner.fire(job, w.clock.t), undefined, "one ms early");
    assert.deepEqual(await w.store.jobRuns.list(job.id, 10), []);
    w.clock.t = T + MIN;
    const run = await w.runner.fire(job, w.clock.t);
    assert.ok(run);
    assert.equal(run.status, "queued");
    assert.equal(run.scheduledFor, T + MIN);
    assert.equal(run.covers, 1);
    assert.equal(run.manual, false);
    assert.equal(run.createdAt, T + MIN);
    assert.equal(run.reason, null);
    assert.equal(run.sessionId, w.session.id);
    assert.ok(run.taskId, "the run names its task");
    const task = await w.store.tasks.get(run.taskId);
    assert.equal(task?.status, "pending");
    assert.deepEqual(task?.executionConfig, { tools: ["x"] });
    const [m] = await w.messages();
    assert.equal(m?.content, "good morning");
    assert.equal(m?.role, "user");
    assert.equal(m?.metadata.job_id, job.id);
    assert.equal(m?.metadata.job_run_id, run.id);
    assert.equal(m?.metadata.scheduled_for, "2025-01-01T00:01:00.000Z");
    assert.equal(m?.metadata.source, "scheduler");
    assert.equal(await w.store.receipts.has("job-run", run.id), true, "deduped by the run's id");
    assert.equal((await w.store.jobs.get(job.id))?.nextRunAt, T + 2 * MIN);
    assert.deepEqual(w.observed, [[job.id, "queued", null]]);
  });

  test("a slot already claimed (another instance, a stale read) fires nothing", async () => {
    const job = await w.job();
    w.clock.t = T + MIN;
    assert.ok(await w.runner.fire(job, w.clock.t));
    assert.equal(await w.runner.fire(job, w.clock.t), undefined);
    assert.equal((await w.store.jobRuns.list(job.id, 10)).length, 1);
    assert.equal((await w.messages()).length, 1);
    assert.equal(w.observed.length, 1);
  });

  test("a stale read loses the claim: a slot another instance fired later, a job disabled meanwhile", async () => {
    const job = await w.job({ overlap: "queue" });
    // Another instance fired slots 1 and 2 at once (its clock was later).
    assert.equal((await w.runner.fire(job, T + 2 * MIN))?.scheduledFor, T + 2 * MIN);
    assert.equal(await w.runner.fire(job, T + MIN), undefined, "slot 1 is past");
    const other = await w.job({ name: "other" });
    await w.jobs.update(other.id, { enabled: false });
    assert.equal(await w.runner.fire(other, T + MIN), undefined, "disabled since it was read");
    assert.deepEqual(await w.store.jobRuns.list(other.id, 10), []);
    assert.equal((await w.messages()).length, 1);
  });

  test("a job that will not fire again (next_run_at null) fires nothing", async () => {
    const job = await w.job();
    assert.equal(await w.runner.fire({ ...job, nextRunAt: null }, T + 10 * MIN), undefined);
    assert.deepEqual(await w.store.jobRuns.list(job.id, 10), []);
  });

  test("missed slots, run_once: one run standing for all of them, at the latest", async () => {
    const job = await w.job({ missed: "run_once" });
    w.clock.t = T + 4 * MIN + 30 * SEC; // slots at 1, 2, 3 and 4 minutes
    const run = await w.runner.fire(job, w.clock.t);
    assert.equal(run?.status, "queued");
    assert.equal(run?.covers, 4);
    assert.equal(run?.scheduledFor, T + 4 * MIN);
    assert.equal((await w.messages()).length, 1);
    assert.equal((await w.store.jobs.get(job.id))?.nextRunAt, T + 5 * MIN);
  });

  test("missed slots, skip: one skipped record, nothing injected; a single slot still runs", async () => {
    const job = await w.job({ missed: "skip" });
    w.clock.t = T + 3 * MIN;
    const run = await w.runner.fire(job, w.clock.t);
    assert.equal(run?.status, "skipped");
    assert.equal(run?.reason, "missed");
    assert.equal(run?.covers, 3);
    assert.equal(run?.taskId, null);
    assert.deepEqual(await w.messages(), []);
    assert.deepEqual(w.observed, [[job.id, "skipped", "missed"]]);
    // The next slot on time: one slot, not missed.
    w.clock.t = T + 4 * MIN;
    const next = await w.runner.fire((await w.store.jobs.get(job.id))!, w.clock.t);
    assert.equal(next?.status, "queued");
    assert.equal(next?.reason, null);
  });

  test("overlap skip: a slot while the previous run's task is pending is skipped; after it ends it runs", async () => {
    const job = await w.job({ overlap: "skip" });
    w.clock.t = T + MIN;
    const first = await w.runner.fire(job, w.clock.t);
    assert.equal(first?.status, "queued");
    w.clock.t = T + 2 * MIN;
    const second = await w.runner.fire((await w.store.jobs.get(job.id))!, w.clock.t);
    assert.equal(second?.status, "skipped");
    assert.equal(second?.reason, "overlap");
    assert.equal((await w.messages()).length, 1);
    await w.store.db.kysely
      .updateTable("tasks")
      .set({ status: "complete" })
      .where("id", "=", first!.taskId!)
      .execute();
    assert.equal((await w.store.jobRuns.get(first!.id))?.status, "complete");
    w.clock.t = T + 3 * MIN;
    const third = await w.runner.fire((await w.store.jobs.get(job.id))!, w.clock.t);
    assert.equal(third?.status, "queued");
    assert.equal((await w.messages()).length, 2);
  });

  test("overlap queue: a slot while the previous run is pending still runs", async () => {
    const job = await w.job({ overlap: "queue" });
    w.clock.t = T + MIN;
    await w.runner.fire(job, w.clock.t);
    w.clock.t = T + 2 * MIN;
    const second = await w.runner.fire((await w.store.jobs.get(job.id))!, w.clock.t);
    assert.equal(second?.status, "queued");
    assert.equal((await w.messages()).length, 2);
  });

  test("a session target that was ended or deleted: skipped with that reason", async () => {
    const job = await w.job();
    await w.real.end(w.session.id);
    w.clock.t = T + MIN;
    const ended = await w.runner.fire(job, w.clock.t);
    assert.equal(ended?.status, "skipped");
    assert.equal(ended?.reason, "target_ended");
    await w.store.db.kysely.deleteFrom("sessions").where("id", "=", w.session.id).execute();
    w.clock.t = T + 2 * MIN;
    const gone = await w.runner.fire((await w.store.jobs.get(job.id))!, w.clock.t);
    assert.equal(gone?.status, "skipped");
    assert.equal(gone?.reason, "target_deleted");
    assert.deepEqual(w.observed, [
      [job.id, "skipped", "target_ended"],
      [job.id, "skipped", "target_deleted"],
    ]);
  });

  test("a (bot, client id) target: its session is made and gets the message", async () => {
    const job = await w.job({ target: { bot_id: "bot", client_id: "cron:daily" } });
    w.clock.t = T + MIN;
    const run = await w.runner.fire(job, w.clock.t);
    assert.equal(run?.status, "queued");
    const s = (await w.real.getOrCreate("bot", "cron:daily")).session;
    assert.equal(run?.sessionId, s.id);
    assert.equal((await w.messages(s.id))[0]?.content, "tick");
  });

  test("a (bot, client id) target whose session was ended: skipped, target_ended", async () => {
    const job = await w.job({ target: { bot_id: "bot", client_id: "client-1" } });
    await w.real.end(w.session.id);
    w.clock.t = T + MIN;
    const run = await w.runner.fire(job, w.clock.t);
    assert.equal(run?.status, "skipped");
    assert.equal(run?.reason, "target_ended");
    assert.deepEqual(await w.messages(), []);
    assert.deepEqual(w.observed, [
      [job.id, "queued", null],
      [job.id, "skipped", "target_ended"],
    ]);
  });

  test("refusals settle the run failed with the refusal's words: unknown bot, bad input, refused destination", async () => {
    const now = T + MIN;
    w.clock.t = now;
    const insert = (target: Job["target"], dispatchConfig: Record<string, unknown> | null = null) =>
      w.store.jobs.insert({
        name: "raw",
        schedule: { every_seconds: 60 },
        target,
        prompt: "tick",
        executionConfig: null,
        dispatchConfig,
        enabled: true,
        missed: "run_once",
        overlap: "queue",
        nextRunAt: now,
      });
    const noBot = await w.runner.fire(await insert({ bot_id: "ghost", client_id: "c" }), now);
    assert.equal(noBot?.status, "failed");
    assert.equal(noBot?.reason, "Unknown bot: ghost");
    const badClient = await w.runner.fire(await insert({ bot_id: "bot", client_id: "" }), now);
    assert.equal(badClient?.status, "failed");
    assert.equal(badClient?.reason, "Invalid client_id: must not be empty");
    const refused = await w.runner.fire(
      await insert({ session_id: w.session.id }, { type: "refused" }),
      now,
    );
    assert.equal(refused?.status, "failed");
    assert.equal(refused?.reason, "this destination is refused");
    assert.deepEqual(
      w.observed.filter(([, s]) => s === "failed"),
      [
        [noBot!.jobId, "failed", null],
        [badClient!.jobId, "failed", null],
        [refused!.jobId, "failed", null],
      ],
    );
  });

  test("a one-shot fires once and is then disabled", async () => {
    const job = await w.job({ schedule: { at: "2025-01-01T00:05:00Z" } });
    assert.equal(job.nextRunAt, T + 5 * MIN);
    w.clock.t = T + 6 * MIN;
    const run = await w.runner.fire(job, w.clock.t);
    assert.equal(run?.status, "queued");
    assert.equal(run?.covers, 1);
    assert.equal(run?.scheduledFor, T + 5 * MIN);
    const after = await w.store.jobs.get(job.id);
    assert.equal(after?.enabled, false);
    assert.equal(after?.nextRunAt, null);
  });

  test("an interval job stays enabled after firing", async () => {
    const job = await w.job();
    w.clock.t = T + MIN;
    await w.runner.fire(job, w.clock.t);
    assert.equal((await w.store.jobs.get(job.id))?.enabled, true);
  });

  test("run-now: a manual run at now, schedule untouched; the same millisecond gives the same run", async () => {
    const job = await w.job();
    w.clock.t = T + 10 * SEC;
    const run = await w.runner.runNow(job);
    assert.equal(run.status, "queued");
    assert.equal(run.manual, true);
    assert.equal(run.scheduledFor, T + 10 * SEC);
    assert.equal(run.createdAt, T + 10 * SEC);
    assert.ok(run.taskId);
    assert.equal((await w.store.jobs.get(job.id))?.nextRunAt, T + MIN);
    const again = await w.runner.runNow(job);
    assert.equal(again.id, run.id);
    assert.equal((await w.messages()).length, 1);
    assert.deepEqual(w.observed, [[job.id, "queued", null]]);
  });

  test("run-now of a disabled job is skipped, disabled; of an overlapping one, overlap", async () => {
    const off = await w.job({ enabled: false });
    const r1 = await w.runner.runNow(off);
    assert.equal(r1.status, "skipped");
    assert.equal(r1.reason, "disabled");
    const on = await w.job({ name: "on", overlap: "skip" });
    await w.runner.runNow(on);
    w.clock.t += 1;
    const r2 = await w.runner.runNow(on);
    assert.equal(r2.status, "skipped");
    assert.equal(r2.reason, "overlap");
    assert.equal((await w.messages()).length, 1);
    assert.deepEqual(w.observed, [
      [off.id, "skipped", "disabled"],
      [on.id, "queued", null],
      [on.id, "skipped", "overlap"],
    ]);
  });

  test("a failed injection leaves the run queued; a pass injects it once RECOVER_AFTER_MS has passed", async () => {
    assert.equal(RECOVER_AFTER_MS, 30_000);
    const job = await w.job({ schedule: { every_seconds: 3600 } });
    w.clock.t = T + 3600 * SEC;
    w.fault.err = new Error("database hiccup");
    assert.equal(await w.runner.pass(), T + 7200 * SEC, "the next slot");
    const line = w.lines.find((l) => l.msg === "job firing failed; retried on the next pass");
    assert.equal(line?.job, job.id);
    assert.equal(line?.err?.message, "database hiccup");
    const [run] = await w.store.jobRuns.list(job.id, 10);
    assert.equal(run?.status, "queued");
    assert.equal(run?.taskId, null);
    w.clock.t += RECOVER_AFTER_MS;
    await w.runner.pass();
    assert.equal((await w.store.jobRuns.get(run!.id))?.taskId, null, "not yet: exactly 30 s");
    w.clock.t += 1;
    await w.runner.pass();
    const done = await w.store.jobRuns.get(run!.id);
    assert.ok(done?.taskId, "injected by recovery");
    const [m] = await w.messages();
    assert.equal(m?.metadata.job_run_id, run!.id);
    assert.equal((await w.messages()).length, 1);
  });

  test("recovery of a run injected but not recorded (a stop in between) adds no second message", async () => {
    const job = await w.job();
    w.clock.t = T + MIN;
    const run = await w.runner.fire(job, w.clock.t);
    await w.store.db.kysely
      .updateTable("job_runs")
      .set({ task_id: null, session_id: null })
      .where("id", "=", run!.id)
      .execute();
    await w.runner.recover(T + MIN + RECOVER_AFTER_MS + 1);
    const back = await w.store.jobRuns.get(run!.id);
    assert.equal(back?.taskId, run!.taskId, "the first injection's task");
    assert.equal(back?.sessionId, w.session.id);
    assert.equal((await w.messages()).length, 1);
  });

  test("recovery of a run whose job was deleted fails it; whose session was deleted skips it", async () => {
    const a = await w.job({ name: "a" });
    const b = await w.job({ name: "b", overlap: "queue" });
    w.clock.t = T + MIN;
    w.fault.err = new Error("hiccup");
    await assert.rejects(w.runner.fire(a, w.clock.t), /hiccup/);
    w.fault.err = new Error("hiccup");
    await assert.rejects(w.runner.fire(b, w.clock.t), /hiccup/);
    const [ra] = await w.store.jobRuns.list(a.id, 1);
    const [rb] = await w.store.jobRuns.list(b.id, 1);
    await w.store.db.kysely.deleteFrom("jobs").where("id", "=", a.id).execute();
    await w.store.db.kysely.deleteFrom("sessions").where("id", "=", w.session.id).execute();
    w.observed.length = 0;
    await w.runner.recover(T + MIN + RECOVER_AFTER_MS + 1);
    const ga = await w.store.jobRuns.get(ra!.id);
    assert.equal(ga?.status, "failed");
    assert.equal(ga?.reason, "job deleted");
    const gb = await w.store.jobRuns.get(rb!.id);
    assert.equal(gb?.status, "skipped");
    assert.equal(gb?.reason, "target_deleted");
    assert.deepEqual(
      w.observed.sort(),
      [
        [a.id, "failed", null],
        [b.id, "skipped", "target_deleted"],
      ].sort(),
    );
  });

  test("a pass: other jobs still fire when one throws; the answer is the earliest next slot, or null", async () => {
    assert.equal(await w.runner.pass(), null, "no jobs");
    const a = await w.job({ name: "a", schedule: { every_seconds: 60 } });
    const b = await w.job({ name: "b", schedule: { every_seconds: 90 } });
    assert.equal(await w.runner.pass(), T + MIN, "nothing due yet");
    w.clock.t = T + 90 * SEC;
    w.fault.err = new Error("hiccup"); // the first injection (a, due earliest) fails
    assert.equal(await w.runner.pass(), T + 2 * MIN);
    assert.equal((await w.store.jobRuns.list(a.id, 5)).length, 1);
    const [rb] = await w.store.jobRuns.list(b.id, 5);
    assert.ok(rb?.taskId, "b fired although a threw");
    await w.jobs.update(a.id, { enabled: false });
    await w.jobs.update(b.id, { enabled: false });
    assert.equal(await w.runner.pass(), null, "disabled jobs do not count");
  });

  test("a pass fires at most 50 due jobs and then asks for another pass at once", async () => {
    await w.real.end(w.session.id); // each firing is a quick skip
    for (let i = 0; i < 51; i++) await w.job({ name: `j${i}` });
    w.clock.t = T + MIN;
    assert.equal(await w.runner.pass(), true);
    const skipped = w.observed.filter(([, s]) => s === "skipped").length;
    assert.equal(skipped, 50);
    assert.equal(await w.runner.pass(), T + 2 * MIN);
    assert.equal(w.observed.length, 51);
  });
});

describe("the job service", () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });
  afterEach(() => w.close());

  test("a bare target is a session id; an object is kept", () => {
    assert.deepEqual(targetOf("s1"), { session_id: "s1" });
    const t = { bot_id: "b", client_id: "c" };
    assert.equal(targetOf(t), t);
  });

  test("now is the scheduler's clock", () => {
    w.clock.t = 12345;
    assert.equal(w.jobs.now(), 12345);
  });

  test("fields of an input: defaults to null, first slot when enabled, none when disabled", async () => {
    w.clock.t = T + 5 * SEC;
    const input = createJobBody.parse({
      name: "n",
      schedule: { every_seconds: 10 },
      target: w.session.id,
      prompt: "p",
    });
    assert.deepEqual(await w.jobs.fieldsOf(input), {
      name: "n",
      schedule: { every_seconds: 10 },
      target: { session_id: w.session.id },
      prompt: "p",
      executionConfig: null,
      dispatchConfig: null,
      enabled: true,
      missed: "run_once",
      overlap: "skip",
      nextRunAt: T + 15 * SEC,
    });
    const off = await w.jobs.fieldsOf({
      ...input,
      enabled: false,
      missed: "skip",
      overlap: "queue",
      execution_config: { tools: ["t"] },
      dispatch_config: { type: "none" },
    });
    assert.equal(off.nextRunAt, null);
    assert.equal(off.enabled, false);
    assert.equal(off.missed, "skip");
    assert.equal(off.overlap, "queue");
    assert.deepEqual(off.executionConfig, { tools: ["t"] });
    assert.deepEqual(off.dispatchConfig, { type: "none" });
  });

  test("refusals: a bad schedule, a missing session, an unknown bot, a bad client id, a bad execution config", async () => {
    const base = createJobBody.parse({
      name: "n",
      schedule: { every_seconds: 10 },
      target: w.session.id,
      prompt: "p",
    });
    await assert.rejects(
      w.jobs.create({ ...base, schedule: { cron: "nope" } }),
      (e: unknown) => e instanceof JobInputError && e.field === "schedule.cron",
    );
    await assert.rejects(
      w.jobs.create({ ...base, target: "no-such-session" }),
      (e: unknown) =>
        e instanceof JobInputError &&
        e.field === "target.session_id" &&
        e.problem === "no session has this id",
    );
    await assert.rejects(
      w.jobs.create({ ...base, target: { bot_id: "ghost", client_id: "c" } }),
      (e: unknown) => e instanceof UnknownBotError && e.botId === "ghost",
    );
    await assert.rejects(
      w.jobs.create({ ...base, target: { bot_id: "bot", client_id: "a\0b" } }),
      (e: unknown) => e instanceof InvalidInputError && e.field === "client_id",
    );
    await assert.rejects(
      w.jobs.create({ ...base, execution_config: { tools: "x" } as never }),
      (e: unknown) => e instanceof InvalidInputError && /^execution_config/.test(e.field),
    );
    assert.deepEqual(await w.store.jobs.list({ limit: 10 }), [], "nothing was stored");
    assert.equal(w.changes(), 0);
    const ok = await w.jobs.create({ ...base, target: { bot_id: "bot", client_id: "c" } });
    assert.equal(w.changes(), 1);
    assert.deepEqual((await w.jobs.get(ok.id)).target, { bot_id: "bot", client_id: "c" });
  });

  test("get, update and delete of a job that does not exist: JobNotFoundError", async () => {
    const notFound = (e: unknown) =>
      e instanceof JobNotFoundError &&
      e.name === "JobNotFoundError" &&
      e.message === "Job not found";
    await assert.rejects(w.jobs.get("nope"), notFound);
    await assert.rejects(w.jobs.update("nope", { name: "x" }), notFound);
    await assert.rejects(w.jobs.delete("nope"), notFound);
    const job = await w.job();
    await w.jobs.delete(job.id);
    await assert.rejects(w.jobs.get(job.id), notFound);
  });

  test("an update replaces each given field and keeps the others", async () => {
    const other = (await w.real.getOrCreate("bot", "client-2")).session;
    const job = await w.job({
      execution_config: { tools: ["a"] },
      dispatch_config: { type: "none" },
    });
    const changes = w.changes();
    const same = await w.jobs.update(job.id, {});
    assert.equal(w.changes(), changes + 1);
    for (const k of [
      "name",
      "schedule",
      "target",
      "prompt",
      "executionConfig",
      "dispatchConfig",
      "enabled",
      "missed",
      "overlap",
      "nextRunAt",
    ] as const) {
      assert.deepEqual(same[k], job[k], k);
    }
    const changed = await w.jobs.update(job.id, {
      name: "renamed",
      target: other.id,
      prompt: "new prompt",
      missed: "skip",
      overlap: "queue",
    });
    assert.equal(changed.name, "renamed");
    assert.deepEqual(changed.target, { session_id: other.id });
    assert.equal(changed.prompt, "new prompt");
    assert.equal(changed.missed, "skip");
    assert.equal(changed.overlap, "queue");
    assert.deepEqual(changed.executionConfig, { tools: ["a"] });
    assert.deepEqual(changed.dispatchConfig, { type: "none" });
    const cleared = await w.jobs.update(job.id, { execution_config: null, dispatch_config: null });
    assert.equal(cleared.executionConfig, null);
    assert.equal(cleared.dispatchConfig, null);
    assert.equal(cleared.name, "renamed");
    const set = await w.jobs.update(job.id, {
      execution_config: { tools: ["b"] },
      dispatch_config: { type: "none", x: 1 } as never,
    });
    assert.deepEqual(set.executionConfig, { tools: ["b"] });
  });

  test("next_run_at: kept by an edit, recomputed by a new schedule or enabling, cleared by disabling", async () => {
    const job = await w.job();
    assert.equal(job.nextRunAt, T + MIN);
    w.clock.t = T + 30 * SEC;
    assert.equal((await w.jobs.update(job.id, { name: "x" })).nextRunAt, T + MIN, "an edit");
    assert.equal((await w.jobs.update(job.id, { enabled: true })).nextRunAt, T + MIN, "still on");
    const s = await w.jobs.update(job.id, { schedule: { every_seconds: 60 } });
    assert.equal(s.nextRunAt, T + 90 * SEC, "the same schedule given again: anew from now");
    const off = await w.jobs.update(job.id, { enabled: false });
    assert.equal(off.enabled, false);
    assert.equal(off.nextRunAt, null);
    w.clock.t = T + 10 * MIN;
    assert.equal((await w.jobs.update(job.id, { name: "y" })).nextRunAt, null, "still off");
    const on = await w.jobs.update(job.id, { enabled: true });
    assert.equal(on.enabled, true);
    assert.equal(on.nextRunAt, T + 11 * MIN, "missed slots are not made up");
    const both = await w.jobs.update(job.id, { enabled: false, schedule: { every_seconds: 5 } });
    assert.equal(both.nextRunAt, null, "disabling wins over a new schedule");
  });

  test("a new schedule is stored and its first slot counted from now", async () => {
    const job = await w.job();
    w.clock.t = T + 30 * SEC;
    const cron = await w.jobs.update(job.id, { schedule: { cron: "0 * * * *" } });
    assert.deepEqual(cron.schedule, { cron: "0 * * * *" });
    assert.equal(cron.nextRunAt, T + 60 * MIN);
    const every = await w.jobs.update(job.id, { schedule: { every_seconds: 10 } });
    assert.deepEqual(every.schedule, { every_seconds: 10 });
    assert.equal(every.nextRunAt, T + 40 * SEC);
  });

  test("a past one-shot that never ran fires at once when re-enabled", async () => {
    const job = await w.job({ schedule: { at: "2025-01-01T00:05:00Z" }, enabled: false });
    assert.equal(job.nextRunAt, null);
    w.clock.t = T + 10 * MIN;
    assert.equal((await w.jobs.update(job.id, { enabled: true })).nextRunAt, T + 5 * MIN);
  });

  test("a past one-shot that already fired does not fire again when re-enabled; a manual run does not count", async () => {
    const at = "2025-01-01T00:05:00Z";
    const job = await w.job({ schedule: { at } });
    w.clock.t = T + MIN;
    await w.runner.runNow(job);
    await w.jobs.update(job.id, { enabled: false });
    w.clock.t = T + 10 * MIN;
    const back = await w.jobs.update(job.id, { enabled: true });
    assert.equal(back.nextRunAt, T + 5 * MIN, "only run-now so far: it still fires");
    await w.runner.fire(back, w.clock.t);
    w.clock.t += 1;
    const again = await w.jobs.update(job.id, { enabled: true });
    assert.equal(again.nextRunAt, null, "it fired: not again");
    const resched = await w.jobs.update(job.id, { schedule: { at } });
    assert.equal(resched.nextRunAt, null, "the same past instant given again");
  });
});

/** A definition of `int`'s jobs.ts targeting the world's session. */
function def(w: World, over: Partial<JobDefinition> = {}): JobDefinition {
  return {
    name: "daily",
    schedule: { every_seconds: 60 },
    target: w.session.id,
    prompt: "p",
    ...over,
  };
}

describe("the jobs.ts sync", () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });
  afterEach(() => w.close());

  const sync = (sources: Parameters<typeof syncJobs>[2]) =>
    syncJobs(w.jobs, w.store, sources, w.log);
  const synced = () => w.lines.filter((l) => l.msg === "declared jobs synced");

  test("which integrations' jobs.ts failed to load", () => {
    const failed = (...files: string[]) =>
      jobSources([{ name: "i", errors: files.map((file) => ({ file })) }])[0]!.failed;
    for (const f of [
      "/x/i/jobs.ts",
      "/x/i/jobs.js",
      "/x/i/jobs.mts",
      "/x/i/jobs.cjs",
      "/x/i/jobs.mjs",
      "/x/i/jobs.cts",
      "C:\\i\\jobs.ts",
    ]) {
      assert.equal(failed(f), true, f);
    }
    for (const f of [
      "/x/i/tools.ts",
      "/x/i/myjobs.ts",
      "/x/i/jobs.ts.bak",
      "/x/i/jobs.json",
      "/x/i/jobs_ts",
      "/x/i/jobs.xts",
      "/x/i/jobs.cms",
      "/x/i/jobs.ms",
      "/x/i/jobs.s",
      "/x/i/jobs.",
      "jobs.ts",
    ]) {
      assert.equal(failed(f), false, f);
    }
    assert.equal(failed("/x/i/tools.ts", "/x/i/jobs.ts"), true, "any of its errors");
    assert.equal(failed(), false);
    const jobs = [{ name: "a" }] as JobDefinition[];
    assert.deepEqual(
      jobSources([
        { name: "i", jobs, errors: [] },
        { name: "k", errors: [] },
      ]),
      [
        { integration: "i", jobs, failed: false },
        { integration: "k", jobs: undefined, failed: false },
      ],
    );
  });

  test("created once, then unchanged (whatever the key order); its hash is of its sorted JSON", async () => {
    const d = def(w, { execution_config: { tools: ["a", "b"] }, dispatch_config: null });
    // An integration without jobs.ts (no `jobs`) declares nothing: no refusal, no job.
    const r1 = await sync([
      { integration: "int", jobs: [d], failed: false },
      { integration: "plain", failed: false },
    ]);
    assert.deepEqual(r1, {
      created: ["int/daily"],
      updated: [],
      disabled: [],
      unchanged: [],
      refused: [],
    });
    const [job] = await w.store.jobs.declared();
    assert.equal(job?.integration, "int");
    assert.equal(job?.nextRunAt, T + MIN);
    const canonical = `{"dispatch_config":null,"execution_config":{"tools":["a","b"]},"name":"daily","prompt":"p","schedule":{"every_seconds":60},"target":${JSON.stringify(w.session.id)}}`;
    assert.equal(job?.definitionHash, createHash("sha256").update(canonical).digest("hex"));
    assert.equal(synced().length, 1);
    assert.deepEqual(synced()[0]?.created, ["int/daily"]);
    const reordered = {
      target: d.target,
      prompt: "p",
      schedule: { every_seconds: 60 },
      execution_config: { tools: ["a", "b"] },
      dispatch_config: null,
      name: "daily",
      enabled: undefined,
    } as JobDefinition;
    const r2 = await sync([{ integration: "int", jobs: [reordered], failed: false }]);
    assert.deepEqual(r2.unchanged, ["int/daily"]);
    assert.deepEqual([...r2.created, ...r2.updated, ...r2.disabled, ...r2.refused], []);
    assert.equal(synced().length, 1, "nothing to say when nothing changed");
  });

  test("a changed definition is applied, enabled and schedule included, over an operator's change", async () => {
    await sync([{ integration: "int", jobs: [def(w)], failed: false }]);
    const [job] = await w.store.jobs.declared();
    await w.jobs.update(job!.id, { enabled: false });
    w.clock.t = T + 10 * MIN;
    const r = await sync([
      {
        integration: "int",
        jobs: [def(w, { schedule: { every_seconds: 30 }, prompt: "q" })],
        failed: false,
      },
    ]);
    assert.deepEqual(r.updated, ["int/daily"]);
    const after = await w.store.jobs.get(job!.id);
    assert.equal(after?.prompt, "q");
    assert.equal(after?.enabled, true);
    assert.deepEqual(after?.schedule, { every_seconds: 30 });
    assert.equal(after?.nextRunAt, T + 10 * MIN + 30 * SEC);
    assert.notEqual(after?.definitionHash, job?.definitionHash);
    assert.deepEqual(synced().at(-1)?.updated, ["int/daily"]);
  });

  test("a definition refused on meaning is reported and logged; the others still sync", async () => {
    const r = await sync([
      {
        integration: "int",
        jobs: [def(w, { name: "bad", schedule: { cron: "nope" } }), def(w, { name: "good" })],
        failed: false,
      },
    ]);
    assert.deepEqual(r.created, ["int/good"]);
    assert.equal(r.refused.length, 1);
    assert.match(r.refused[0]!, /^int\/bad: schedule\.cron: /);
    const warn = w.lines.find((l) => l.msg === "declared job refused");
    assert.equal(warn?.job, "int/bad");
    assert.match(warn?.reason, /^schedule\.cron: /);
  });

  test("a definition that is gone disables its job once; it comes back enabled when declared again", async () => {
    await sync([{ integration: "int", jobs: [def(w), def(w, { name: "stays" })], failed: false }]);
    const r = await sync([
      { integration: "int", jobs: [def(w, { name: "stays" })], failed: false },
    ]);
    assert.deepEqual(r.disabled, ["int/daily"]);
    assert.deepEqual(r.unchanged, ["int/stays"]);
    assert.deepEqual(synced().at(-1)?.disabled, ["int/daily"]);
    const gone = (await w.store.jobs.declared()).find((j) => j.name === "daily")!;
    assert.equal(gone.enabled, false);
    assert.equal(gone.nextRunAt, null);
    assert.equal(gone.definitionHash, null);
    const again = await sync([
      { integration: "int", jobs: [def(w, { name: "stays" })], failed: false },
    ]);
    assert.deepEqual(again.disabled, [], "already disabled");
    // An operator enables it again: still not declared, so disabled again.
    await w.jobs.update(gone.id, { enabled: true });
    const third = await sync([{ integration: "int", jobs: [], failed: false }]);
    assert.deepEqual(third.disabled.sort(), ["int/daily", "int/stays"]);
    const back = await sync([{ integration: "int", jobs: [def(w)], failed: false }]);
    assert.deepEqual(back.updated, ["int/daily"]);
    assert.equal((await w.store.jobs.get(gone.id))?.enabled, true);
  });

  test("a job disabled by an operator whose definition is then gone is still reported disabled", async () => {
    await sync([{ integration: "int", jobs: [def(w)], failed: false }]);
    const [job] = await w.store.jobs.declared();
    await w.jobs.update(job!.id, { enabled: false });
    const r = await sync([{ integration: "int", failed: false }]);
    assert.deepEqual(r.disabled, ["int/daily"]);
    assert.equal((await w.store.jobs.get(job!.id))?.definitionHash, null);
  });

  test("an integration whose jobs.ts failed to load keeps its jobs; API jobs are never touched", async () => {
    await sync([
      { integration: "int", jobs: [def(w)], failed: false },
      { integration: "other", jobs: [def(w)], failed: false },
    ]);
    const api = await w.job({ name: "daily" });
    const r = await sync([
      { integration: "int", failed: true },
      { integration: "other", failed: false },
    ]);
    assert.deepEqual(r.disabled, ["other/daily"]);
    const byInt = new Map((await w.store.jobs.declared()).map((j) => [j.integration, j]));
    assert.equal(byInt.get("int")?.enabled, true);
    assert.equal(byInt.get("other")?.enabled, false);
    assert.equal((await w.store.jobs.get(api.id))?.enabled, true);
  });

  test("the sync is logged whenever it created, updated or disabled anything", async () => {
    await sync([{ integration: "int", jobs: [def(w, { name: "a" })], failed: false }]);
    assert.equal(synced().length, 1);
    // one created, one updated
    await sync([
      {
        integration: "int",
        jobs: [def(w, { name: "a", prompt: "q" }), def(w, { name: "b" })],
        failed: false,
      },
    ]);
    assert.equal(synced().length, 2);
    assert.deepEqual(synced()[1]?.created, ["int/b"]);
    assert.deepEqual(synced()[1]?.updated, ["int/a"]);
    // one created, one disabled
    await sync([
      {
        integration: "int",
        jobs: [def(w, { name: "a", prompt: "q" }), def(w, { name: "c" })],
        failed: false,
      },
    ]);
    assert.equal(synced().length, 3);
    assert.deepEqual(synced()[2]?.created, ["int/c"]);
    assert.deepEqual(synced()[2]?.disabled, ["int/b"]);
  });

  test("two instances syncing at once: one creates, the other finds it made", async () => {
    const src = [{ integration: "int", jobs: [def(w)], failed: false }];
    const [a, b] = await Promise.all([sync(src), sync(src)]);
    assert.deepEqual([...a.created, ...b.created], ["int/daily"]);
    assert.deepEqual([...a.unchanged, ...b.unchanged], ["int/daily"]);
    assert.equal((await w.store.jobs.declared()).length, 1);
  });
});

describe("the loop's timer", () => {
  const START = 1_000_000;
  /** Lets the loop's promise chains settle (setImmediate is not mocked). */
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  };
  let loop: SchedulerLoop | undefined;
  beforeEach(() => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: START });
  });
  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
    mock.timers.reset();
  });
  after(() => mock.timers.reset());

  /** A loop over a fake runner whose passes answer `answers` in turn (then null). */
  function start(answers: Array<boolean | number | null | Error>, schedulerNow: () => number) {
    const passes: number[] = [];
    const runner = {
      pass: async () => {
        passes.push(Date.now());
        const a = answers.shift() ?? null;
        if (a instanceof Error) throw a;
        return a;
      },
    } as unknown as JobRunner;
    const { log, lines } = capture();
    loop = new SchedulerLoop(runner, { log, pollMs: 60_000, now: schedulerNow });
    return { passes, lines, loop };
  }

  test("sleeps until the next slot, measured on the scheduler's clock", async () => {
    // The scheduler's clock is years away from the real one: only the distance counts.
    const { passes, loop } = start([T + 5000], () => T);
    loop.start();
    await settle();
    assert.deepEqual(passes, [START]);
    mock.timers.tick(4999);
    await settle();
    assert.equal(passes.length, 1, "not before the slot");
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(passes, [START, START + 5000]);
  });

  test("a slot already past: the next pass at once", async () => {
    const { passes, loop } = start([T - 5000], () => T);
    loop.start();
    await settle();
    mock.timers.tick(0);
    await settle();
    assert.deepEqual(passes, [START, START]);
  });

  test("no slot: sleeps one poll; more due at once: passes again without sleeping", async () => {
    const { passes, loop } = start([true, null], () => T);
    loop.start();
    await settle();
    assert.deepEqual(passes, [START, START], "true: again at once");
    mock.timers.tick(59_999);
    await settle();
    assert.equal(passes.length, 2, "null: not before the poll");
    mock.timers.tick(1);
    await settle();
    assert.equal(passes.length, 3);
  });

  test("a poke passes at once; after stop neither pokes nor timers pass", async () => {
    const { passes, loop } = start([null, null], () => T);
    loop.poke();
    await settle();
    assert.equal(passes.length, 0, "not started");
    loop.start();
    await settle();
    assert.equal(passes.length, 1);
    loop.poke();
    await settle();
    assert.equal(passes.length, 2);
    await loop.stop();
    loop.poke();
    mock.timers.tick(120_000);
    await settle();
    assert.equal(passes.length, 2);
  });

  test("a pass that throws is logged as the scheduler's", async () => {
    const { lines, loop } = start([new Error("boom")], () => T);
    loop.start();
    await settle();
    const line = lines.find((l) => l.msg === "work loop pass failed");
    assert.equal(line?.loop, "scheduler");
    assert.equal(line?.err?.message, "boom");
  });
});
