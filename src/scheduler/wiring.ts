/**
 * Builds the scheduler's three parts — the job service (CRUD), the runner (fires slots)
 * and the loop (finds due slots) — on one clock; app.ts calls this.
 */
import type { Logger } from "pino";
import type { SessionService } from "../sessions/service.ts";
import type { Store } from "../store/index.ts";
import type { AppTuning } from "../tuning.ts";
import { SchedulerLoop } from "./loop.ts";
import { JobRunner } from "./runner.ts";
import { JobService } from "./service.ts";

/** The scheduler's parts. */
export interface Scheduler {
  jobs: JobService;
  runner: JobRunner;
  loop: SchedulerLoop;
}

/**
 * @param onJobsChanged called after a job is created, changed or deleted, once the loop
 *   has been poked (tell other instances); must not throw
 */
export function createScheduler(w: {
  store: Store;
  sessions: SessionService;
  log: Logger;
  tuning: Pick<AppTuning, "schedulerNow" | "schedulerPollMs" | "pollMs">;
  onJobsChanged: () => void;
}): Scheduler {
  const now = w.tuning.schedulerNow ?? Date.now;
  const runner = new JobRunner({ store: w.store, sessions: w.sessions, log: w.log, now });
  const loop = new SchedulerLoop(runner, {
    log: w.log,
    now,
    pollMs: w.tuning.schedulerPollMs ?? w.tuning.pollMs ?? 1000,
  });
  const jobs = new JobService({
    store: w.store,
    now,
    onChange: () => {
      loop.poke();
      w.onJobsChanged();
    },
  });
  return { jobs, runner, loop };
}
