/**
 * The outbox retry schedule with an injected clock and random source (no test waits out a
 * real backoff): each delay is its schedule step ±20 % (exactly the step × 0.8 / × 1.2 with
 * random at 0 / 1), at least 60 s after a 429 or a timeout, a `Retry-After` honoured and
 * clamped to the longest step (seconds and HTTP-date forms, over real HTTP), and dead after
 * the last attempt. Each delay is read exactly as `next_attempt_at` − the pinned clock.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DEFAULT_RETRY_SCHEDULE_MS } from "../src/outbox/worker.ts";
import { DeliveryError } from "../src/sdk/errors.ts";
import type { Delivery } from "../src/store/deliveries.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

const DAY = 24 * 3600_000;
const FLOOR = 60_000;
const LONGEST = Math.max(...DEFAULT_RETRY_SCHEDULE_MS);

/** What the probe sender does on an attempt: throw these fields, or succeed. */
interface Failure {
  message: string;
  status?: number;
  retryAfterMs?: number;
}

for (const backend of ALL_BACKENDS) {
  describe(`outbox retry schedule, injected clock and random (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    /** The pinned clock: 30 days ago, so every scheduled retry is already due in real time. */
    const T0 = Date.now() - 30 * DAY;
    let random: () => number = () => 0.5;
    /** Per delivery (payload.name): every attempt's claimed row, in order. */
    const seen = new Map<string, Delivery[]>();

    before(async () => {
      t = await startTestApp({
        backend,
        tuning: {
          deliveryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
          minBackoffAfterThrottleMs: FLOOR,
          deliveryNow: () => T0,
          deliveryRandom: () => random(),
        },
      });
      // A core sender under test control: payload.plan[i] is what attempt i + 1 does.
      t.app.deliveryWorker.registerSender("schedule-probe", async (d) => {
        const name = String(d.payload.name);
        seen.set(name, [...(seen.get(name) ?? []), d]);
        const plan = d.payload.plan as Array<Failure | null>;
        const step = plan[Math.min(d.attempts, plan.length) - 1];
        if (step) {
          throw new DeliveryError(step.message, {
            status: step.status ?? null,
            ...(step.retryAfterMs !== undefined ? { retryAfterMs: step.retryAfterMs } : {}),
          });
        }
      });
    });
    after(() => t.close());

    /** The delivery's row over the API once its status is one of `want`. */
    const rowWhen = async (id: string, want: string[]) => {
      let row: any;
      for (let i = 0; i < 500; i++) {
        row = (await t.api("GET", `/api/v1/deliveries/${id}`)).body;
        if (want.includes(row?.status)) return row;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`delivery ${id} never reached ${want.join("/")}: ${JSON.stringify(row)}`);
    };

    /** Sends a probe delivery; resolves with its id. */
    const send = async (name: string, plan: Array<Failure | null>) => {
      const { delivery } = await t.app.deliveryWorker.sendNow({
        targetType: "schedule-probe",
        target: {},
        payload: { name, plan },
        destination: `probe:${name}`,
      });
      return delivery.id;
    };

    /** The delays (ms) the worker chose after attempts 1, 2, …: each next claim's due time − T0. */
    const delaysOf = (name: string) =>
      (seen.get(name) ?? []).slice(1).map((d) => d.nextAttemptAt - T0);

    const http503 = { message: "HTTP 503", status: 503 };

    test("random fixed at 0.5: each delay is exactly its step; dead after the last attempt", async () => {
      random = () => 0.5;
      const plan = Array.from({ length: 20 }, () => http503);
      const id = await send("exact", plan);
      const row = await rowWhen(id, ["dead"]);
      assert.equal(row.attempts, DEFAULT_RETRY_SCHEDULE_MS.length + 1, "1 + one per step");
      assert.equal(seen.get("exact")!.length, DEFAULT_RETRY_SCHEDULE_MS.length + 1);
      assert.deepEqual(delaysOf("exact"), DEFAULT_RETRY_SCHEDULE_MS);
      assert.equal(row.next_attempt_at, null, "no attempt after the last");
    });

    test("random at 0 and 1 gives the extremes exactly; any other value stays within ±20 %", async () => {
      const sequence = [0, 1, 0.25, 0.999, 0.1, 0.6, 0];
      let i = 0;
      random = () => sequence[i++ % sequence.length]!;
      const id = await send(
        "jitter",
        Array.from({ length: 20 }, () => http503),
      );
      await rowWhen(id, ["dead"]);
      const delays = delaysOf("jitter");
      assert.equal(delays.length, DEFAULT_RETRY_SCHEDULE_MS.length);
      DEFAULT_RETRY_SCHEDULE_MS.forEach((step, k) => {
        const r = sequence[k]!;
        assert.equal(delays[k], Math.round(step * (1 + (r * 2 - 1) * 0.2)), `step ${k + 1}`);
        assert.ok(
          delays[k]! >= step * 0.8 && delays[k]! <= step * 1.2,
          `step ${k + 1} within ±20 %`,
        );
      });
      assert.equal(delays[0], 4_000, "random 0: step × 0.8");
      assert.equal(delays[1], 360_000, "random 1: step × 1.2");
    });

    test("a 429 or a timeout waits at least 60 s; a longer step is left alone", async () => {
      random = () => 0;
      const id = await send("throttled", [
        { message: "HTTP 429", status: 429 },
        { message: "request timed out" },
        { message: "HTTP 429", status: 429 },
        null,
      ]);
      await rowWhen(id, ["delivered"]);
      assert.deepEqual(delaysOf("throttled"), [
        FLOOR, // 5 s × 0.8 = 4 s, raised to the floor
        240_000, // a timeout, but 300 s × 0.8 is above the floor already
        1_440_000, // 30 min × 0.8
      ]);
      // The floor also applies to a timeout whose step is below it.
      random = () => 0.5;
      const id2 = await send("timeout-first", [{ message: "request timed out" }, null]);
      await rowWhen(id2, ["delivered"]);
      assert.deepEqual(delaysOf("timeout-first"), [FLOOR]);
    });

    test("Retry-After is honoured when longer than the step and clamped to the longest step", async () => {
      random = () => 0.5;
      const id = await send("retry-after", [
        { message: "HTTP 503", status: 503, retryAfterMs: 120_000 },
        { message: "HTTP 503", status: 503, retryAfterMs: 365 * DAY },
        { message: "HTTP 503", status: 503, retryAfterMs: 1_000 },
        null,
      ]);
      await rowWhen(id, ["delivered"]);
      assert.deepEqual(delaysOf("retry-after"), [
        120_000, // longer than 5 s: honoured
        LONGEST, // a year: clamped to 10 h
        1_800_000, // shorter than the 30 min step: the step wins
      ]);
    });

    test("a final error is dead at once, without a retry", async () => {
      t.app.deliveryWorker.registerSender("schedule-final", async () => {
        throw new DeliveryError("HTTP 400", { status: 400, retryable: false });
      });
      const dead = await t.app.deliveryWorker.sendNow({
        targetType: "schedule-final",
        target: {},
        payload: {},
        destination: "probe:final",
      });
      assert.equal(dead.outcome.status, "dead");
      assert.equal((await rowWhen(dead.delivery.id, ["dead"])).attempts, 1);
    });
  });
}

for (const backend of ALL_BACKENDS) {
  describe(
    `outbox retry schedule over HTTP, Retry-After as seconds and as an HTTP date (${backend})`,
    runsOn(backend),
    () => {
      let t: TestApp;
      let hook: CaptureServer;
      /** Pinned to now: the scheduled retries stay in the future and the rows stay `failed`. */
      const T0 = Date.now();
      before(async () => {
        hook = await startCaptureServer();
        t = await startTestApp({
          backend,
          tuning: {
            deliveryScheduleMs: [5_000, 300_000, 600_000],
            minBackoffAfterThrottleMs: FLOOR,
            deliveryNow: () => T0,
            deliveryRandom: () => 0.5,
          },
        });
      });
      after(async () => {
        await t.close();
        await hook.close();
      });

      /** Runs a task whose webhook answers `status` + `headers`; returns the failed row's delay. */
      const delayAfter = async (name: string, status: number, headers: Record<string, string>) => {
        hook.setResponder((req) => (req.path === `/${name}` ? { status, headers } : undefined));
        const sid = await t.session(`schedule-${name}`);
        const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
          content: name,
          run_agent: true,
          dispatch_config: { type: "webhook", url: `${hook.url}/${name}` },
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        for (let i = 0; i < 500; i++) {
          const rows = (await t.api("GET", `/api/v1/deliveries?task_id=${r.body.task_id}`)).body;
          const row = rows?.[0];
          if (row?.status === "failed") {
            assert.equal(row.last_status, status);
            return Date.parse(row.next_attempt_at) - T0;
          }
          await new Promise((res) => setTimeout(res, 20));
        }
        throw new Error(`no failed delivery for ${name}`);
      };

      test("503 with Retry-After: 120 retries in 120 s, not the 5 s step", async () => {
        assert.equal(await delayAfter("seconds", 503, { "retry-after": "120" }), 120_000);
      });

      test("Retry-After as an HTTP date far ahead is clamped to the longest step", async () => {
        const date = "Wed, 21 Oct 2099 07:28:00 GMT";
        assert.equal(await delayAfter("http-date", 503, { "retry-after": date }), 600_000);
      });

      test("Retry-After of a year in seconds is clamped too", async () => {
        assert.equal(
          await delayAfter("year", 503, { "retry-after": String(365 * 86400) }),
          600_000,
        );
      });

      test("429 without Retry-After waits the 60 s floor, not the 5 s step", async () => {
        assert.equal(await delayAfter("throttled", 429, {}), FLOOR);
      });
    },
  );
}
