/**
 * One cell of the turns benchmark: a fresh server, a server warm-up, N sessions warmed up
 * with one turn each, then N × M messages injected with `run_agent: true` by a pool of
 * concurrent clients, each delivered to the receiver by the webhook dispatcher; and the
 * figures of the measured run (see `../turns.ts` for what each one means).
 */

import type { FakeLlm } from "../../test/support/fake-llm.ts";
import { apiClient } from "../support/api-client.ts";
import type { Receiver } from "../support/receiver.ts";
import { percentile } from "../support/stats.ts";
import { type CellServer, startCellServerInProcess, startCellServerProcess } from "./server.ts";

/** One configuration measured. */
export interface Cell {
  backend: "sqlite" | "postgres";
  latencyMs: number;
  sessions: number;
  workers: number;
  turnsPerSession: number;
  /**
   * Servers on the one database (more than 1: PostgreSQL only), each with `workers`; the
   * inject clients take turns between them, as behind a load balancer.
   */
  instances: number;
}

/** The figures of one cell. */
export interface CellResult {
  cell: Cell;
  turns: number;
  delivered: number;
  turnsPerSec: number;
  e2e: { p50: number; p99: number };
  turn: { p50: number; p99: number };
  injectPerSec: number;
  /**
   * CPU time (user + system, all threads) per delivered turn during the run, ms: of the
   * server process, or of this whole process when the server runs in it.
   */
  cpuPerTurnMs: number;
  /** CPU time of this process per delivered turn when the server has its own process, ms. */
  benchCpuPerTurnMs: number;
  /** The servers' process ids when they run in their own processes. */
  pids: number[];
  wallSec: number;
  errors: number;
  complete: boolean;
}

/** Concurrent inject clients. */
export const INJECTORS = 16;
/** A cell that has not delivered everything by then is reported as incomplete. */
export const CELL_TIMEOUT_MS = 45_000;
/** Server warm-up per cell: turns on separate sessions at 0 ms LLM latency. */
const SERVER_WARM_SESSIONS = 10;
const SERVER_WARM_TURNS = 200;

type Client = ReturnType<typeof apiClient>;

interface Injected {
  session: number;
  sentAt: number;
}

/** Injects `jobs` (session indexes, in order) through `INJECTORS` concurrent clients. */
async function injectAll(
  apis: Client[],
  sessionIds: string[],
  jobs: number[],
  webhookUrl: string,
  label: string,
): Promise<{ injected: Map<string, Injected>; errors: number; firstAt: number; lastAt: number }> {
  const injected = new Map<string, Injected>();
  let next = 0;
  let errors = 0;
  let firstAt = Number.POSITIVE_INFINITY;
  let lastAt = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const k = next++;
      const s = jobs[k]!;
      const sentAt = performance.now();
      if (sentAt < firstAt) firstAt = sentAt;
      try {
        const r = await apis[k % apis.length]!.post(`/api/v1/sessions/${sessionIds[s]}/messages`, {
          content: `${label} message ${k} for session ${s}`,
          run_agent: true,
          dispatch_config: { type: "webhook", url: webhookUrl },
        });
        if (r.status !== 201 || typeof r.json?.task_id !== "string") {
          errors++;
          if (errors <= 3) console.error(`  inject failed: ${r.status} ${JSON.stringify(r.json)}`);
          continue;
        }
        injected.set(r.json.task_id, { session: s, sentAt });
        lastAt = performance.now();
      } catch (err) {
        errors++;
        if (errors <= 3) console.error(`  inject error: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(INJECTORS, jobs.length) }, worker));
  return { injected, errors, firstAt, lastAt };
}

/** Resolves with `p`, or rejects when a server process dies first. */
function guard<T>(servers: CellServer[], p: Promise<T>): Promise<T> {
  return Promise.race([p, ...servers.map((s) => s.died)]);
}

/** Starts the cell's servers: the first makes the database, the others share it. */
async function startServers(llm: FakeLlm, cell: Cell, inProcess: boolean): Promise<CellServer[]> {
  const start = inProcess ? startCellServerInProcess : startCellServerProcess;
  const servers = [await start(llm, cell)];
  try {
    for (let i = 1; i < cell.instances; i++) {
      servers.push(await start(llm, { ...cell, databaseUrl: servers[0]!.databaseUrl }));
    }
  } catch (err) {
    await closeServers(servers);
    throw err;
  }
  return servers;
}

/** Stops the servers, the database's creator last (it drops the database). */
export async function closeServers(servers: CellServer[]): Promise<void> {
  for (const s of [...servers].reverse()) await s.close();
}

/** Creates `n` sessions `<prefix>-<i>`; returns their ids. */
async function createSessions(api: Client, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let s = 0; s < n; s++) {
    const r = await api.post("/api/v1/sessions", { client_id: `${prefix}-${s}` });
    if (r.status !== 201) throw new Error(`session create failed: ${r.status}`);
    ids.push(r.json.session_id);
  }
  return ids;
}

/** Runs one cell against a fresh server; the LLM and receiver are shared across cells. */
export async function runCell(
  llm: FakeLlm,
  receiver: Receiver,
  cell: Cell,
  inProcess: boolean,
): Promise<CellResult> {
  const started = performance.now();
  llm.setDefaultLatency(0);
  const servers = await startServers(llm, cell, inProcess);
  const apis = servers.map((s) => apiClient(s.url, INJECTORS * 2));
  const api = apis[0]!;
  const hookUrl = `${receiver.url}/hook`;
  try {
    // Server warm-up (JIT of a fresh process) on separate sessions, at 0 ms LLM latency.
    const warmIds = await guard(servers, createSessions(api, SERVER_WARM_SESSIONS, "warm"));
    const warmJobs = Array.from({ length: SERVER_WARM_TURNS }, (_, k) => k % warmIds.length);
    const serverWarm = await guard(
      servers,
      injectAll(apis, warmIds, warmJobs, hookUrl, "server warm-up"),
    );
    if (
      !(await guard(
        servers,
        receiver.waitFor(serverWarm.injected.keys(), performance.now() + 30_000),
      ))
    ) {
      throw new Error("server warm-up turns were not delivered within 30 s");
    }

    llm.setDefaultLatency(cell.latencyMs);
    const sessionIds = await guard(servers, createSessions(api, cell.sessions, "bench"));

    // Warm-up: one turn per session (connections to the LLM and receiver, statement caches).
    const warm = await guard(
      servers,
      injectAll(
        apis,
        sessionIds,
        sessionIds.map((_, i) => i),
        hookUrl,
        "warm-up",
      ),
    );
    if (
      !(await guard(servers, receiver.waitFor(warm.injected.keys(), performance.now() + 30_000)))
    ) {
      throw new Error("warm-up turns were not delivered within 30 s");
    }

    // Measured run: M rounds over the sessions, injected as fast as the API accepts them.
    const jobs: number[] = [];
    for (let m = 0; m < cell.turnsPerSession; m++) {
      for (let s = 0; s < cell.sessions; s++) jobs.push(s);
    }
    const deadline = performance.now() + CELL_TIMEOUT_MS;
    const cpu0 = process.cpuUsage();
    const srvCpu = () => servers.reduce((sum, x) => sum + x.cpuMs(), 0);
    const srv0 = srvCpu();
    const inj = await guard(servers, injectAll(apis, sessionIds, jobs, hookUrl, "bench"));
    const complete = await guard(servers, receiver.waitFor(inj.injected.keys(), deadline));
    const cpu = process.cpuUsage(cpu0);
    const srvCpuMs = srvCpu() - srv0;
    const benchCpuMs = (cpu.user + cpu.system) / 1000;

    // Figures.
    const e2e: number[] = [];
    const perSession: Array<Array<{ sentAt: number; at: number }>> = sessionIds.map(() => []);
    let lastDelivery = 0;
    for (const [id, { session, sentAt }] of inj.injected) {
      const at = receiver.deliveredAt.get(id);
      if (at === undefined) continue;
      e2e.push(at - sentAt);
      perSession[session]!.push({ sentAt, at });
      if (at > lastDelivery) lastDelivery = at;
    }
    const turn: number[] = [];
    for (const list of perSession) {
      list.sort((a, b) => a.at - b.at);
      let prev = Number.NEGATIVE_INFINITY;
      for (const d of list) {
        turn.push(d.at - Math.max(d.sentAt, prev));
        prev = d.at;
      }
    }
    e2e.sort((a, b) => a - b);
    turn.sort((a, b) => a - b);
    const delivered = e2e.length;
    const span = (lastDelivery - inj.firstAt) / 1000;
    const injectSpan = (inj.lastAt - inj.firstAt) / 1000;
    const perTurn = (ms: number) => (delivered > 0 ? ms / delivered : Number.NaN);
    return {
      cell,
      turns: jobs.length,
      delivered,
      turnsPerSec: delivered > 0 && span > 0 ? delivered / span : 0,
      e2e: { p50: percentile(e2e, 50), p99: percentile(e2e, 99) },
      turn: { p50: percentile(turn, 50), p99: percentile(turn, 99) },
      injectPerSec: injectSpan > 0 ? inj.injected.size / injectSpan : Number.NaN,
      cpuPerTurnMs: perTurn(inProcess ? benchCpuMs : srvCpuMs),
      benchCpuPerTurnMs: inProcess ? Number.NaN : perTurn(benchCpuMs),
      pids: servers.flatMap((x) => (x.pid === undefined ? [] : [x.pid])),
      wallSec: (performance.now() - started) / 1000,
      errors: inj.errors,
      complete,
    };
  } finally {
    for (const a of apis) await a.close();
    await closeServers(servers);
  }
}
