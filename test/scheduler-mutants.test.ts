/**
 * The scheduler's slot arithmetic at its edges (written for mutation testing,
 * `npm run mutate -- scheduler`): which schedules are refused and how the refusal names the
 * field, the first slot of each kind, counting missed slots (an interval, a cron, the cap),
 * and the preview of the next firings. Pure functions of src/scheduler/schedule.ts; the
 * firing itself is covered over HTTP by test/jobs.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  advance,
  checkSchedule,
  firstSlot,
  JobInputError,
  MAX_COUNTED_SLOTS,
  upcoming,
} from "../src/scheduler/schedule.ts";

const MIN = 60_000;
const T = Date.parse("2025-01-01T00:00:00Z");

function refused(s: Parameters<typeof checkSchedule>[0], field: string, problem: RegExp | string) {
  assert.throws(
    () => checkSchedule(s),
    (err: unknown) => {
      assert.ok(err instanceof JobInputError, String(err));
      assert.equal(err.field, field);
      if (typeof problem === "string") assert.equal(err.problem, problem);
      else assert.match(err.problem, problem);
      assert.equal(err.message, `${field}: ${err.problem}`);
      return true;
    },
  );
}

describe("checkSchedule", () => {
  test("good schedules pass", () => {
    checkSchedule({ cron: "*/5 * * * *" });
    checkSchedule({ cron: " 0 9 * * 1-5 ", tz: "Europe/Paris" });
    checkSchedule({ cron: "30 0 9 * * *" });
    checkSchedule({ cron: "0  9  *  *  *" }); // runs of spaces separate fields too
    checkSchedule({ every_seconds: 1 });
    checkSchedule({ at: "2025-06-01T12:00:00+02:00" });
  });

  test("a cron of other than 5 or 6 fields names the count", () => {
    refused({ cron: "* * * *" }, "schedule.cron", "must have 5 or 6 fields, not 4");
    refused({ cron: "0 0 0 1 1 * 2030" }, "schedule.cron", "must have 5 or 6 fields, not 7");
  });

  test("croner's refusal is passed on without its prefix", () => {
    refused({ cron: "61 * * * *" }, "schedule.cron", "Invalid value for minute: 61");
  });

  test("a cron that can never fire is refused", () => {
    refused({ cron: "0 0 31 2 *" }, "schedule.cron", "never fires");
  });

  test("an unknown time zone is named", () => {
    refused(
      { cron: "* * * * *", tz: "Mars/Olympus" },
      "schedule.tz",
      "unknown time zone 'Mars/Olympus' (an IANA name such as Europe/Paris)",
    );
  });

  test("every_seconds must be a positive whole number", () => {
    for (const v of [0, -5, 1.5]) {
      refused({ every_seconds: v }, "schedule.every_seconds", "must be a positive whole number");
    }
  });

  test("at must be a date-time", () => {
    refused({ at: "tomorrow-ish" }, "schedule.at", "must be an ISO 8601 date-time");
  });
});

describe("firstSlot", () => {
  test("cron: the next instant after now, in the job's zone (UTC by default)", () => {
    assert.equal(firstSlot({ cron: "0 * * * *" }, T + 1), T + 60 * MIN);
    assert.equal(firstSlot({ cron: "0 * * * *" }, T), T + 60 * MIN, "strictly after now");
    assert.equal(
      firstSlot({ cron: "0 9 * * *", tz: "America/New_York" }, T),
      Date.parse("2025-01-01T14:00:00Z"),
    );
    assert.equal(firstSlot({ cron: "0 9 * * *" }, T), Date.parse("2025-01-01T09:00:00Z"));
  });

  test("a cron without a time zone is UTC, whatever the server's local zone", () => {
    const before = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      assert.equal(firstSlot({ cron: "0 9 * * *" }, T), Date.parse("2025-01-01T09:00:00Z"));
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  test("interval: now + every_seconds", () => {
    assert.equal(firstSlot({ every_seconds: 90 }, T), T + 90_000);
  });

  test("one-shot: its instant, even when past, unless it already fired", () => {
    const at = "2025-01-01T00:05:00Z";
    assert.equal(firstSlot({ at }, T), T + 5 * MIN);
    assert.equal(firstSlot({ at }, T + 10 * MIN), T + 5 * MIN, "past: fires at once");
    assert.equal(firstSlot({ at }, T + 10 * MIN, true), null, "past and fired");
    assert.equal(firstSlot({ at }, T + 5 * MIN, true), null, "due now and fired");
    assert.equal(firstSlot({ at }, T, true), T + 5 * MIN, "future: fires again");
  });
});

describe("advance", () => {
  test("a one-shot has one slot and no next", () => {
    assert.deepEqual(advance({ at: "2025-01-01T00:00:00Z" }, T, T + 5 * MIN), {
      count: 1,
      last: T,
      next: null,
    });
  });

  test("an interval counts the slots in [from, now] and finds the next", () => {
    const s = { every_seconds: 60 };
    assert.deepEqual(advance(s, T, T), { count: 1, last: T, next: T + MIN });
    assert.deepEqual(advance(s, T, T + MIN - 1), { count: 1, last: T, next: T + MIN });
    assert.deepEqual(advance(s, T, T + MIN), { count: 2, last: T + MIN, next: T + 2 * MIN });
    assert.deepEqual(advance(s, T, T + 3 * MIN + 30_000), {
      count: 4,
      last: T + 3 * MIN,
      next: T + 4 * MIN,
    });
  });

  test("an interval's count is capped; last and next stay exact", () => {
    const r = advance({ every_seconds: 1 }, T, T + 5000 * 1000);
    assert.deepEqual(r, { count: MAX_COUNTED_SLOTS, last: T + 5000 * 1000, next: T + 5001 * 1000 });
  });

  test("a cron counts the slots in [from, now] and finds the next", () => {
    const s = { cron: "*/10 * * * *" };
    assert.deepEqual(advance(s, T, T), { count: 1, last: T, next: T + 10 * MIN });
    assert.deepEqual(advance(s, T, T + 10 * MIN), {
      count: 2,
      last: T + 10 * MIN,
      next: T + 20 * MIN,
    });
    assert.deepEqual(advance(s, T, T + 35 * MIN), {
      count: 4,
      last: T + 30 * MIN,
      next: T + 40 * MIN,
    });
  });

  test("a cron's count is capped at MAX_COUNTED_SLOTS; last is the latest slot, next the one after now", () => {
    const s = { cron: "* * * * *" };
    const now = T + 2000 * MIN + 30_000;
    assert.deepEqual(advance(s, T, now), {
      count: MAX_COUNTED_SLOTS,
      last: T + 2000 * MIN,
      next: T + 2001 * MIN,
    });
    // Past the cap with now exactly on a slot: that slot is the last one.
    assert.deepEqual(advance(s, T, T + 2000 * MIN), {
      count: MAX_COUNTED_SLOTS,
      last: T + 2000 * MIN,
      next: T + 2001 * MIN,
    });
    // Exactly at the cap: counted one by one.
    const at = advance(s, T, T + (MAX_COUNTED_SLOTS - 1) * MIN);
    assert.deepEqual(at, {
      count: MAX_COUNTED_SLOTS,
      last: T + (MAX_COUNTED_SLOTS - 1) * MIN,
      next: T + MAX_COUNTED_SLOTS * MIN,
    });
  });
});

describe("upcoming", () => {
  test("nothing when the job will not fire; a one-shot's single slot", () => {
    assert.deepEqual(upcoming({ every_seconds: 60 }, null, 5), []);
    assert.deepEqual(upcoming({ at: "2025-01-01T00:00:00Z" }, T, 5), [T]);
  });

  test("an interval's next n slots", () => {
    assert.deepEqual(upcoming({ every_seconds: 30 }, T, 3), [T, T + 30_000, T + 60_000]);
  });

  test("a cron's next n slots from its next_run_at", () => {
    assert.deepEqual(upcoming({ cron: "0 * * * *" }, T, 3), [T, T + 60 * MIN, T + 120 * MIN]);
    assert.deepEqual(upcoming({ cron: "0 * * * *" }, T, 1), [T]);
  });
});
