/**
 * Start-of-task delay across instances (issue 14): how long from an inject being sent to
 * its task being started (claimed; the task's `started_at`), with tasks injected one at a
 * time on idle servers, so the figure is the wake-up and claim, not a queue:
 * - one instance: injected on A, started on A (its in-process signal);
 * - two instances on one PostgreSQL database: injected on A, which runs no tasks
 *   (`SWITCHYARD_WORKER_CONCURRENCY=0`), started on B (woken by LISTEN/NOTIFY; without it,
 *   by B's next poll, 1 s by default).
 * Each task is delivered to the receiver before the next is injected. `started_at` has
 * millisecond resolution (the server's `Date.now()`; the inject is stamped with this
 * process's `Date.now()`, the same clock).
 */
import type { FakeLlm } from "../../test/support/fake-llm.ts";
import { apiClient } from "../support/api-client.ts";
import type { Receiver } from "../support/receiver.ts";
import { percentile } from "../support/stats.ts";
import { closeServers } from "./cell.ts";
import { type CellServer, startCellServerInProcess, startCellServerProcess } from "./server.ts";

/** The figures of one layout. */
export interface StartDelayResult {
  /** 1: inject and run on A; 2: inject on A, run on B. */
  instances: number;
  tasks: number;
  /** Inject sent → task started, ms. */
  start: { p50: number; p99: number };
  /**
   * Task row written (its `created_at`, inside A's inject transaction) → task started, ms:
   * the commit, the wake-up and the claim, without the HTTP request around them.
   */
  queued: { p50: number; p99: number };
  /** Inject sent → its 201 received, ms (the part of `start` the request itself takes). */
  accept: { p50: number; p99: number };
}

const WARM_TASKS = 30;
const SESSIONS = 10;
const TASK_DEADLINE_MS = 10_000;

/** Measures the start delay with `instances` (1 or 2) servers on a fresh PostgreSQL database. */
export async function measureStartDelay(
  llm: FakeLlm,
  receiver: Receiver,
  opts: { instances: number; tasks: number; inProcess: boolean },
): Promise<StartDelayResult> {
  llm.setDefaultLatency(0);
  const start = opts.inProcess ? startCellServerInProcess : startCellServerProcess;
  const workersA = opts.instances > 1 ? 0 : 16;
  const servers: CellServer[] = [await start(llm, { backend: "postgres", workers: workersA })];
  const apis: Array<ReturnType<typeof apiClient>> = [];
  try {
    if (opts.instances > 1) {
      servers.push(
        await start(llm, {
          backend: "postgres",
          workers: 16,
          databaseUrl: servers[0]!.databaseUrl,
        }),
      );
    }
    const a = apiClient(servers[0]!.url, 2);
    apis.push(a);
    const sessions: string[] = [];
    for (let s = 0; s < SESSIONS; s++) {
      const r = await a.post("/api/v1/sessions", { client_id: `start-delay-${s}` });
      if (r.status !== 201) throw new Error(`session create failed: ${r.status}`);
      sessions.push(r.json.session_id);
    }
    const hook = `${receiver.url}/hook`;
    const one = async (k: number) => {
      // Date.now(), the clock the server stamps `started_at` with: `performance.timeOrigin +
      // performance.now()` drifts from it by milliseconds over a run.
      const sentWall = Date.now();
      const sent = performance.now();
      const r = await a.post(`/api/v1/sessions/${sessions[k % SESSIONS]}/messages`, {
        content: `start delay ${k}`,
        run_agent: true,
        dispatch_config: { type: "webhook", url: hook },
      });
      const accepted = performance.now();
      if (r.status !== 201) throw new Error(`inject failed: ${r.status} ${JSON.stringify(r.json)}`);
      const taskId: string = r.json.task_id;
      if (!(await receiver.waitFor([taskId], performance.now() + TASK_DEADLINE_MS))) {
        throw new Error(`task ${taskId} not delivered within ${TASK_DEADLINE_MS / 1000} s`);
      }
      return { taskId, sentWall, acceptMs: accepted - sent };
    };
    for (let k = 0; k < WARM_TASKS; k++) await one(k);
    const measured = [];
    for (let k = 0; k < opts.tasks; k++) measured.push(await one(k));
    const startMs: number[] = [];
    const acceptMs: number[] = [];
    const queuedMs: number[] = [];
    for (const m of measured) {
      const t = await a.get(`/api/v1/tasks/${m.taskId}`);
      if (typeof t.json?.started_at !== "string")
        throw new Error(`task ${m.taskId}: no started_at`);
      startMs.push(Date.parse(t.json.started_at) - m.sentWall);
      queuedMs.push(Date.parse(t.json.started_at) - Date.parse(t.json.created_at));
      acceptMs.push(m.acceptMs);
    }
    startMs.sort((x, y) => x - y);
    acceptMs.sort((x, y) => x - y);
    queuedMs.sort((x, y) => x - y);
    return {
      instances: opts.instances,
      tasks: measured.length,
      start: { p50: percentile(startMs, 50), p99: percentile(startMs, 99) },
      queued: { p50: percentile(queuedMs, 50), p99: percentile(queuedMs, 99) },
      accept: { p50: percentile(acceptMs, 50), p99: percentile(acceptMs, 99) },
    };
  } finally {
    for (const api of apis) await api.close();
    await closeServers(servers);
  }
}
