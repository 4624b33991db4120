/**
 * Wires observability into an App (called once by `app.ts`): the OpenTelemetry setup
 * (`./setup.ts`, started and stopped with the server), the request-span hooks when an
 * endpoint is configured, and the job-run and per-instance Prometheus series
 * (`./prometheus.ts`) on the App's metrics registry.
 */
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Metrics } from "../http/metrics.ts";
import type { JobRunner } from "../scheduler/runner.ts";
import type { Store } from "../store/index.ts";
import type { TaskWorker } from "../tasks/worker.ts";
import { traceRequests } from "./http.ts";
import { registerInstanceMetrics, registerJobMetrics } from "./prometheus.ts";
import { Telemetry } from "./setup.ts";

/** The parts of an App that observability reads. */
export interface TelemetryWiring {
  env: Record<string, string | undefined>;
  log: Logger;
  /** This instance's owner id. */
  owner: string;
  version: string;
  server: FastifyInstance;
  metrics: Metrics;
  store: Store;
  jobRunner: JobRunner;
  taskWorker: Pick<TaskWorker, "activeCount">;
  heartbeatMs: number;
}

/** Wires it all; returns the {@link Telemetry} to start and stop with the server. */
export function wireTelemetry(w: TelemetryWiring): Telemetry {
  const telemetry = new Telemetry({
    env: w.env,
    version: w.version,
    instanceId: w.owner,
    log: w.log,
  });
  if (telemetry.enabled) traceRequests(w.server);
  w.jobRunner.observe(registerJobMetrics(w.metrics.registry, { store: w.store }));
  registerInstanceMetrics(w.metrics.registry, {
    store: w.store,
    id: w.owner,
    version: w.version,
    hostname: hostname(),
    heartbeatMs: w.heartbeatMs,
    tasksRunning: () => w.taskWorker.activeCount,
  });
  return telemetry;
}
