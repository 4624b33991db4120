/**
 * Job-run and per-instance series for `GET /metrics` (Prometheus naming:
 * https://prometheus.io/docs/practices/naming/), added to an App's registry beside
 * `http/metrics.ts`. Labels say `job_id` and `instance_id`, not `job` and `instance`, which
 * Prometheus sets itself on every scraped series.
 *
 * Jobs:
 * - `switchyard_job_runs_total{job_id, status}` (counter): runs this instance recorded
 *   (`queued` = fired, `skipped`) or settled while injecting (`skipped`, `failed`);
 * - `switchyard_job_runs_skipped_total{job_id, reason}` (counter): the skipped ones by
 *   reason (`missed`, `overlap`, `disabled`, `target_ended`, `target_deleted`);
 * - `switchyard_job_runs{job_id, status}` (gauge, from the database, so every instance
 *   agrees): runs by their status now (queued, running, complete, failed, skipped);
 * - `switchyard_job_last_run_timestamp_seconds{job_id}` (gauge, database): when the job
 *   last fired (its newest run's creation, Unix seconds).
 *
 * This instance (`instance_id` = its owner id, as in leases and `/api/v1/admin/instances`):
 * - `switchyard_instance_info{instance_id, version, hostname}` = 1;
 * - `switchyard_instance_tasks_running{instance_id}`: tasks its worker runs now;
 * - `switchyard_instance_leases_held{instance_id}` and
 *   `switchyard_instance_lease_held{instance_id, lease}` = 1 per named lease it holds
 *   (pollers, singleton processes, `ctx.exclusive` runs), from the database;
 * - `switchyard_instance_heartbeat_age_seconds{instance_id}`: time since its last heartbeat
 *   row was written (database); absent when it has none;
 * - `switchyard_instances_live`: instances whose heartbeat is recent (database).
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { JobRunObserver } from "../scheduler/runner.ts";
import type { Store } from "../store/index.ts";

/** What the job series read. */
export interface JobMetricsSource {
  store: Pick<Store, "jobRuns">;
}

/**
 * Registers the job series on `registry`.
 * @returns the observer to give `JobRunner.observe`
 */
export function registerJobMetrics(registry: Registry, src: JobMetricsSource): JobRunObserver {
  const registers = [registry];
  const runs = new Counter({
    name: "switchyard_job_runs_total",
    help: "Job runs this instance recorded (queued = fired, skipped) or settled (skipped, failed)",
    labelNames: ["job_id", "status"],
    registers,
  });
  const skipped = new Counter({
    name: "switchyard_job_runs_skipped_total",
    help: "Job runs skipped, by reason (missed, overlap, disabled, target_ended, target_deleted)",
    labelNames: ["job_id", "reason"],
    registers,
  });
  new Gauge({
    name: "switchyard_job_runs",
    help: "Job runs by their status now (from the database)",
    labelNames: ["job_id", "status"],
    registers,
    async collect() {
      this.reset();
      for (const r of await src.store.jobRuns.countByJobAndStatus()) {
        this.set({ job_id: r.jobId, status: r.status }, r.count);
      }
    },
  });
  new Gauge({
    name: "switchyard_job_last_run_timestamp_seconds",
    help: "When the job last fired: its newest run's creation time, Unix seconds (from the database)",
    labelNames: ["job_id"],
    registers,
    async collect() {
      this.reset();
      for (const r of await src.store.jobRuns.lastRunByJob()) {
        this.set({ job_id: r.jobId }, r.lastRunAt / 1000);
      }
    },
  });
  return (jobId, status, reason) => {
    runs.inc({ job_id: jobId, status });
    if (status === "skipped") skipped.inc({ job_id: jobId, reason: reason ?? "unknown" });
  };
}

/** What the instance series read. */
export interface InstanceMetricsSource {
  store: Pick<Store, "instances" | "leases">;
  /** This instance's owner id. */
  id: string;
  version: string;
  hostname: string;
  /** Heartbeat interval (ms): instances beating within 3 of them are live. */
  heartbeatMs: number;
  /** Tasks this instance's worker runs now. */
  tasksRunning(): number;
  now?: () => number;
}

/** Registers the per-instance series on `registry`. */
export function registerInstanceMetrics(registry: Registry, src: InstanceMetricsSource): void {
  const registers = [registry];
  const now = src.now ?? Date.now;
  const id = { instance_id: src.id };
  new Gauge({
    name: "switchyard_instance_info",
    help: "This instance: 1, with its id, version and host name",
    labelNames: ["instance_id", "version", "hostname"],
    registers,
    collect() {
      this.set({ ...id, version: src.version, hostname: src.hostname }, 1);
    },
  });
  new Gauge({
    name: "switchyard_instance_tasks_running",
    help: "Tasks this instance's worker is running now",
    labelNames: ["instance_id"],
    registers,
    collect() {
      this.set(id, src.tasksRunning());
    },
  });
  // One read of the leases serves both lease series of a scrape.
  let held: Promise<string[]> | undefined;
  const heldNow = () => {
    held ??= src.store.leases.live(now()).then((rows) => {
      queueMicrotask(() => {
        held = undefined;
      });
      return rows
        .filter((l) => l.holder.startsWith(`${src.id}/`))
        .map((l) => l.name)
        .sort();
    });
    return held;
  };
  new Gauge({
    name: "switchyard_instance_leases_held",
    help: "Named leases this instance holds now: pollers, singleton processes, exclusive runs (from the database)",
    labelNames: ["instance_id"],
    registers,
    async collect() {
      this.set(id, (await heldNow()).length);
    },
  });
  new Gauge({
    name: "switchyard_instance_lease_held",
    help: "1 per named lease this instance holds now (from the database)",
    labelNames: ["instance_id", "lease"],
    registers,
    async collect() {
      this.reset();
      for (const lease of await heldNow()) this.set({ ...id, lease }, 1);
    },
  });
  new Gauge({
    name: "switchyard_instance_heartbeat_age_seconds",
    help: "Seconds since this instance's heartbeat row was last written (from the database)",
    labelNames: ["instance_id"],
    registers,
    async collect() {
      this.reset();
      const mine = (await src.store.instances.live(0)).find((r) => r.id === src.id);
      if (mine) this.set(id, Math.max(0, now() - mine.lastHeartbeatAt) / 1000);
    },
  });
  new Gauge({
    name: "switchyard_instances_live",
    help: "Instances whose heartbeat is recent (within 3 intervals; from the database)",
    registers,
    async collect() {
      this.set((await src.store.instances.live(now() - 3 * src.heartbeatMs)).length);
    },
  });
}
