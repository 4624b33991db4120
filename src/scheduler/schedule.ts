/**
 * Schedules (docs/jobs.md): checking one, and the slots it gives. A slot is an instant (ms
 * since epoch) at which a job fires. Cron expressions are read by croner
 * (https://croner.56k.guru/) in the job's IANA time zone, with croner's DST rules; an
 * interval's slots are `anchor + k × every_seconds`; a one-shot has one slot.
 */
import { Cron } from "croner";
import type { JobSchedule } from "../sdk/jobs.ts";

/** A job's input refused on its meaning (an invalid cron expression or time zone…): REST 422. */
export class JobInputError extends Error {
  /** The field, dotted: `schedule.cron`, `schedule.tz`, `target.bot_id`… */
  readonly field: string;
  readonly problem: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.field = field;
    this.problem = problem;
  }
}

/** How many missed slots are counted one by one before the count is capped (a `covers` of this means "at least"). */
export const MAX_COUNTED_SLOTS = 1000;

/**
 * Checks a schedule's meaning: a cron expression of 5 or 6 fields that croner accepts, a
 * time zone the runtime knows (IANA), an ISO 8601 `at` with an offset, a positive whole
 * `every_seconds`.
 * @throws JobInputError naming `schedule.cron`, `schedule.tz`, `schedule.at` or `schedule.every_seconds`
 */
export function checkSchedule(s: JobSchedule): void {
  if ("cron" in s) {
    if (s.tz !== undefined) {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: s.tz });
      } catch {
        throw new JobInputError(
          "schedule.tz",
          `unknown time zone '${s.tz}' (an IANA name such as Europe/Paris)`,
        );
      }
    }
    const fields = s.cron.trim().split(/\s+/).length;
    if (fields !== 5 && fields !== 6) {
      throw new JobInputError("schedule.cron", `must have 5 or 6 fields, not ${fields}`);
    }
    let c: Cron;
    try {
      c = cronOf(s);
    } catch (err) {
      throw new JobInputError(
        "schedule.cron",
        (err as Error).message.replace(/^CronPattern: /, ""),
      );
    }
    if (c.nextRun(new Date(0)) === null) {
      throw new JobInputError("schedule.cron", "never fires");
    }
    return;
  }
  if ("every_seconds" in s) {
    if (!Number.isInteger(s.every_seconds) || s.every_seconds <= 0) {
      throw new JobInputError("schedule.every_seconds", "must be a positive whole number");
    }
    return;
  }
  if (Number.isNaN(Date.parse(s.at))) {
    throw new JobInputError("schedule.at", "must be an ISO 8601 date-time");
  }
}

function cronOf(s: { cron: string; tz?: string }): Cron {
  return new Cron(s.cron.trim(), { timezone: s.tz ?? "UTC", paused: true });
}

/**
 * The first slot of a schedule made (or changed, or enabled) at `now`: the next cron
 * instant after `now`, `now + every_seconds`, or the `at` instant (even when past: a
 * one-shot set in the past fires at once), or null when `at` is past and `oneShotDone`.
 */
export function firstSlot(s: JobSchedule, now: number, oneShotDone = false): number | null {
  if ("cron" in s) return cronOf(s).nextRun(new Date(now))?.getTime() ?? null;
  if ("every_seconds" in s) return now + s.every_seconds * 1000;
  const at = Date.parse(s.at);
  return oneShotDone && at <= now ? null : at;
}

/** Where a due job stands at `now`, from its due slot `from` (≤ now). */
export interface SlotAdvance {
  /** Slots in [from, now] (capped at {@link MAX_COUNTED_SLOTS}). */
  count: number;
  /** The latest of them. */
  last: number;
  /** The first slot after `now`, or null (a one-shot). */
  next: number | null;
}

/** Counts the slots from `from` (a slot) through `now` and finds the next one after `now`. */
export function advance(s: JobSchedule, from: number, now: number): SlotAdvance {
  if ("at" in s) return { count: 1, last: from, next: null };
  if ("every_seconds" in s) {
    const every = s.every_seconds * 1000;
    const k = Math.floor((now - from) / every);
    return {
      count: Math.min(k + 1, MAX_COUNTED_SLOTS),
      last: from + k * every,
      next: from + (k + 1) * every,
    };
  }
  const c = cronOf(s);
  let count = 1;
  let last = from;
  let t = c.nextRun(new Date(from))?.getTime() ?? null;
  while (t !== null && t <= now) {
    if (count >= MAX_COUNTED_SLOTS) {
      last = c.previousRuns(1, new Date(now + 1))[0]?.getTime() ?? t;
      return { count, last, next: c.nextRun(new Date(now))?.getTime() ?? null };
    }
    count++;
    last = t;
    t = c.nextRun(new Date(t))?.getTime() ?? null;
  }
  return { count, last, next: t };
}

/**
 * The next `n` firing times after `now` of a job whose next slot is `nextRunAt` (the
 * preview on `GET /jobs/{id}`); empty when it will not fire.
 */
export function upcoming(s: JobSchedule, nextRunAt: number | null, n: number): number[] {
  if (nextRunAt === null) return [];
  if ("at" in s) return [nextRunAt];
  if ("every_seconds" in s) {
    return Array.from({ length: n }, (_, i) => nextRunAt + i * s.every_seconds * 1000);
  }
  const c = cronOf(s);
  const out = [nextRunAt];
  while (out.length < n) {
    const t = c.nextRun(new Date(out[out.length - 1]!));
    if (!t) break;
    out.push(t.getTime());
  }
  return out;
}
