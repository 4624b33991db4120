/**
 * Turns benchmark: agent turns per second and inject→delivery latency through the whole
 * server (REST inject → task queue → agent loop → fake LLM → outbox → webhook).
 *
 * For each cell (database, fake LLM latency, sessions, worker concurrency) a fresh server
 * is started on 127.0.0.1 with a temp data dir and a temp SQLite file or a fresh PostgreSQL
 * database. By default it runs in its own process, as users run it: `node src/main.ts serve`
 * (the pinned Node, `process.execPath`) configured through the environment, stopped with
 * SIGTERM at the end of the cell. The fake LLM, the webhook receiver and the load generator
 * stay in this process. With `--in-process` the server runs in this process instead
 * (`startTestApp`), sharing its thread with the fake LLM, receiver and clients.
 *
 * Per cell: a server warm-up on 10 extra sessions (200 turns at 0 ms LLM latency, so that a
 * fresh server process is JIT-warm), then N sessions are created and warmed up with one turn
 * each at the cell's latency, then all N × M messages are injected with `run_agent: true` by
 * a pool of concurrent clients, as fast as the API accepts them, each with
 * `dispatch_config: {type: "webhook", url}` pointing at a lean receiver that timestamps each
 * delivery when its body arrives.
 *
 * Figures per cell:
 * - turns/s: deliveries / (last delivery − first inject)
 * - e2e p50/p99: inject sent → delivery received (includes waiting behind the session's
 *   earlier turns, so with a backlog it grows with the run length)
 * - turn p50/p99: delivery − max(inject sent, previous delivery of the same session), i.e.
 *   the time one turn takes once its session is free (the queueing on the session removed)
 * - inject/s: injects accepted per second during the inject phase
 * - cpu/turn: CPU time per delivered turn, from the first inject to the last delivery, of
 *   the server process (/proc/<pid>/stat utime + stime, all threads) when it runs in its
 *   own process, or of this whole process (server, fake LLM, receiver, clients) with
 *   `--in-process`
 * - bench cpu/turn: CPU time of this process (fake LLM, receiver, clients) per turn, when
 *   the server runs in its own process
 *
 * With more sessions than the default worker concurrency (16), a cell runs twice: with 16
 * workers and with SWITCHYARD_WORKER_CONCURRENCY = sessions. PostgreSQL cells (10 sessions
 * by default) run when SWITCHYARD_TEST_POSTGRES_URL is set.
 *
 * Options (after the bench name): --latency=0,100 --sessions=1,10,100 --workers=N
 * --backend=sqlite,postgres --scale=0.5 (multiplies the turn counts) --in-process.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { startTestApp, TEST_API_KEY } from "../test/support/app.ts";
import { createTestDatabase, postgresUrl, tempDir } from "../test/support/db.ts";
import { type FakeLlm, startFakeLlm } from "../test/support/fake-llm.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

export const description = "agent turns/s and inject→webhook latency (fake LLM 0/100 ms)";

type Backend = "sqlite" | "postgres";

interface Cell {
  backend: Backend;
  latencyMs: number;
  sessions: number;
  workers: number;
  turnsPerSession: number;
}

interface CellResult {
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
  /** The server's process id when it runs in its own process. */
  pid: number | undefined;
  wallSec: number;
  errors: number;
  complete: boolean;
}

/** Concurrent inject clients. */
const INJECTORS = 16;
/** Worker concurrency of the server unless a cell needs more (SWITCHYARD_WORKER_CONCURRENCY default). */
const DEFAULT_WORKERS = 16;
/** A cell that has not delivered everything by then is reported as incomplete. */
const CELL_TIMEOUT_MS = 45_000;
/** Server warm-up per cell: turns on separate sessions at 0 ms LLM latency. */
const SERVER_WARM_SESSIONS = 10;
const SERVER_WARM_TURNS = 200;
/** A server process that has not printed its URL by then is a failure. */
const START_TIMEOUT_MS = 30_000;
/** After SIGTERM a server process gets this long to exit before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
const ROOT = join(import.meta.dirname, "..");

/**
 * Turns per session by (latency, sessions): ~1000–2000 turns at 0 ms; at 100 ms enough for
 * ~5 s per cell at the theoretical rate (sessions × 10 turns/s, capped by the workers).
 */
function turnsPerSession(latencyMs: number, sessions: number): number {
  if (latencyMs === 0) return sessions === 1 ? 300 : sessions <= 10 ? 150 : 20;
  return sessions === 1 ? 50 : sessions <= 10 ? 60 : 20;
}

function parseArgs(args: string[]) {
  const get = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  const list = (name: string) => get(name)?.split(",").filter(Boolean);
  const latencies = (list("latency") ?? ["0", "100"]).map(Number);
  const sessions = (list("sessions") ?? ["1", "10", "100"]).map(Number);
  const backends = (list("backend") ??
    (postgresUrl ? ["sqlite", "postgres"] : ["sqlite"])) as Backend[];
  const workers = get("workers") ? Number(get("workers")) : undefined;
  const scale = get("scale") ? Number(get("scale")) : 1;
  const explicit = args.some((a) => /^--(latency|sessions|backend)=/.test(a));
  const inProcess = args.includes("--in-process");
  return { latencies, sessions, backends, workers, scale, explicit, inProcess };
}

function planCells(opts: ReturnType<typeof parseArgs>): Cell[] {
  const cells: Cell[] = [];
  const add = (backend: Backend, latencyMs: number, sessions: number, workers: number) => {
    let tps = turnsPerSession(latencyMs, sessions);
    // With fewer workers than sessions a cell is capped by the workers: keep it short.
    if (workers < sessions) tps = Math.ceil(tps / 2);
    tps = Math.max(2, Math.round(tps * opts.scale));
    cells.push({ backend, latencyMs, sessions, workers, turnsPerSession: tps });
  };
  for (const backend of opts.backends) {
    if (backend === "postgres" && !postgresUrl) {
      console.error("turns: SWITCHYARD_TEST_POSTGRES_URL is not set; skipping postgres");
      continue;
    }
    for (const latency of opts.latencies) {
      for (const sessions of opts.sessions) {
        // Without explicit options PostgreSQL runs the 10-session cells only.
        if (backend === "postgres" && !opts.explicit && sessions !== 10) continue;
        if (opts.workers !== undefined) {
          add(backend, latency, sessions, opts.workers);
        } else {
          // More sessions than the default concurrency: run with the default and with
          // one worker slot per session.
          if (sessions > DEFAULT_WORKERS) add(backend, latency, sessions, DEFAULT_WORKERS);
          add(backend, latency, sessions, Math.max(sessions, DEFAULT_WORKERS));
        }
      }
    }
  }
  return cells;
}

/** A running server for one cell. */
interface Server {
  url: string;
  /** Process id when the server has its own process. */
  pid: number | undefined;
  /** CPU ms (user + system) the server process has used so far; NaN in-process. */
  cpuMs(): number;
  /** Rejects if the server process exits before `close()` (never settles in-process). */
  died: Promise<never>;
  close(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat times. */
let clockTicks: number | undefined;
function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {}
    if (!clockTicks || !Number.isFinite(clockTicks)) clockTicks = 100;
  }
  return clockTicks;
}

/** utime + stime of a process (all its threads) in ms, from /proc; NaN where unavailable. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm) ": state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / clkTck();
  } catch {
    return Number.NaN;
  }
}

/** Server processes still running: killed if this process exits early (watchdog, crash). */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(proc: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const p of liveChildren) p.kill("SIGKILL");
    });
  }
  liveChildren.add(proc);
  proc.once("exit", () => liveChildren.delete(proc));
}

/** Keeps the last `max` characters of a stream's output. */
function tail(max: number) {
  let text = "";
  return {
    add(d: Buffer | string) {
      text += d;
      if (text.length > max * 2) text = text.slice(-max);
    },
    get: () => text.slice(-max),
  };
}

/** Starts `node src/main.ts serve` for a cell and waits until it listens. */
async function startServerProcess(llm: FakeLlm, cell: Cell): Promise<Server> {
  const dir = tempDir("switchyard-bench-");
  const pg = cell.backend === "postgres" ? await createTestDatabase("postgres") : undefined;
  const cleanup = async () => {
    try {
      await pg?.drop();
    } finally {
      dir.remove();
    }
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    PORT: "0",
    HOST: "127.0.0.1",
    SWITCHYARD_DATA_DIR: dir.path,
    DATABASE_URL: pg?.url ?? `sqlite:${join(dir.path, "switchyard.db")}`,
    SWITCHYARD_API_KEY: TEST_API_KEY,
    SWITCHYARD_MODEL: "openai-compatible:fake-model",
    SWITCHYARD_LLM_BASE_URL: llm.baseUrl,
    SWITCHYARD_ALLOW_PRIVATE_URLS: "true",
    SWITCHYARD_LOG_LEVEL: "warn",
    SWITCHYARD_WORKER_CONCURRENCY: String(cell.workers),
  };
  // cwd = the temp dir, so that no .env of the checkout is read.
  const proc = spawn(process.execPath, [join(ROOT, "src/main.ts"), "serve"], {
    cwd: dir.path,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  track(proc);
  const out = tail(4000);
  const err = tail(4000);
  proc.stdout!.on("data", (d: Buffer) => out.add(d));
  proc.stderr!.on("data", (d: Buffer) => err.add(d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  let closing = false;
  const output = () =>
    [
      out.get().trim() && `stdout:\n${out.get().trim()}`,
      err.get().trim() && `stderr:\n${err.get().trim()}`,
    ]
      .filter(Boolean)
      .join("\n");

  const stop = async () => {
    closing = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const killed = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (killed) {
        console.error(
          `  server pid ${proc.pid} did not exit ${STOP_TIMEOUT_MS / 1000} s after SIGTERM; SIGKILL`,
        );
        proc.kill("SIGKILL");
      }
    }
    await exited;
  };

  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      let seen = "";
      const timer = setTimeout(
        () => reject(new Error(`server did not listen within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS,
      );
      const onData = (d: Buffer) => {
        seen += d;
        const m = /listening on (http:\/\/\S+)/.exec(seen);
        if (m) {
          clearTimeout(timer);
          proc.stdout!.off("data", onData);
          resolve(m[1]!);
        }
      };
      proc.stdout!.on("data", onData);
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code ?? signal}) before listening`));
      });
    });
  } catch (e) {
    await stop();
    await cleanup();
    throw new Error(`${(e as Error).message}\n${output()}`);
  }

  const died = exited.then(({ code, signal }) => {
    if (closing) return new Promise<never>(() => {});
    throw new Error(
      `server pid ${proc.pid} exited (${code ?? signal}) during the cell\n${output()}`,
    );
  });
  died.catch(() => {}); // observed by runCell; do not crash if nobody is racing it
  const pid = proc.pid!;
  return {
    url,
    pid,
    cpuMs: () => processCpuMs(pid),
    died,
    async close() {
      try {
        await stop();
      } finally {
        await cleanup();
      }
    },
  };
}

/** Starts the server in this process (`startTestApp`), as before `--in-process` existed. */
async function startServerInProcess(llm: FakeLlm, cell: Cell): Promise<Server> {
  const t = await startTestApp({
    llm,
    backend: cell.backend,
    env: { SWITCHYARD_WORKER_CONCURRENCY: String(cell.workers) },
  });
  return {
    url: t.url,
    pid: undefined,
    cpuMs: () => Number.NaN,
    died: new Promise<never>(() => {}),
    async close() {
      if (cell.backend === "postgres") {
        // pg's Pool.end() resolves before its sockets close, and t.close() then runs
        // DROP DATABASE … WITH (FORCE), which terminates any still-open connection (an
        // unhandled pool 'error' crashed the process before src/store/db.ts listened for it).
        // Stop first and let the sockets go.
        await t.app.stop();
        await new Promise((r) => setTimeout(r, 300));
      }
      await t.close();
    },
  };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** A JSON client for one server over a dedicated keep-alive pool. */
function client(baseUrl: string) {
  const agent = new Agent({ connections: INJECTORS * 2, keepAliveTimeout: 30_000 });
  const headers = {
    authorization: `Bearer ${TEST_API_KEY}`,
    "content-type": "application/json",
  };
  return {
    async post(path: string, body: unknown): Promise<{ status: number; json: any }> {
      const res = await request(`${baseUrl}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        dispatcher: agent,
      });
      const text = await res.body.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.statusCode, json };
    },
    close: () => agent.close(),
  };
}

type Client = ReturnType<typeof client>;

interface Injected {
  session: number;
  sentAt: number;
}

/** Injects `jobs` (session indexes, in order) through `INJECTORS` concurrent clients. */
async function injectAll(
  api: Client,
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
        const r = await api.post(`/api/v1/sessions/${sessionIds[s]}/messages`, {
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

/** Resolves with `p`, or rejects when the server process dies first. */
function guard<T>(server: Server, p: Promise<T>): Promise<T> {
  return Promise.race([p, server.died]);
}

async function createSessions(api: Client, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let s = 0; s < n; s++) {
    const r = await api.post("/api/v1/sessions", { client_id: `${prefix}-${s}` });
    if (r.status !== 201) throw new Error(`session create failed: ${r.status}`);
    ids.push(r.json.session_id);
  }
  return ids;
}

async function runCell(
  llm: FakeLlm,
  receiver: Receiver,
  cell: Cell,
  inProcess: boolean,
): Promise<CellResult> {
  const started = performance.now();
  llm.setDefaultLatency(0);
  const server = await (inProcess ? startServerInProcess : startServerProcess)(llm, cell);
  const api = client(server.url);
  try {
    // Server warm-up (JIT of a fresh process) on separate sessions, at 0 ms LLM latency.
    const warmIds = await guard(server, createSessions(api, SERVER_WARM_SESSIONS, "warm"));
    const warmJobs = Array.from({ length: SERVER_WARM_TURNS }, (_, k) => k % warmIds.length);
    const serverWarm = await guard(
      server,
      injectAll(api, warmIds, warmJobs, receiver.url, "server warm-up"),
    );
    if (
      !(await guard(
        server,
        receiver.waitFor(serverWarm.injected.keys(), performance.now() + 30_000),
      ))
    ) {
      throw new Error("server warm-up turns were not delivered within 30 s");
    }

    llm.setDefaultLatency(cell.latencyMs);
    const sessionIds = await guard(server, createSessions(api, cell.sessions, "bench"));

    // Warm-up: one turn per session (connections to the LLM and receiver, statement caches).
    const warm = await guard(
      server,
      injectAll(
        api,
        sessionIds,
        sessionIds.map((_, i) => i),
        receiver.url,
        "warm-up",
      ),
    );
    if (
      !(await guard(server, receiver.waitFor(warm.injected.keys(), performance.now() + 30_000)))
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
    const srv0 = server.cpuMs();
    const inj = await guard(server, injectAll(api, sessionIds, jobs, receiver.url, "bench"));
    const complete = await guard(server, receiver.waitFor(inj.injected.keys(), deadline));
    const cpu = process.cpuUsage(cpu0);
    const srvCpuMs = server.cpuMs() - srv0;
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
      pid: server.pid,
      wallSec: (performance.now() - started) / 1000,
      errors: inj.errors,
      complete,
    };
  } finally {
    await api.close();
    await server.close();
  }
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

function printTable(
  results: CellResult[],
  env: { node: string; cpus: number },
  inProcess: boolean,
): void {
  const head = [
    "node",
    "cpus",
    "db",
    "llm ms",
    "sessions",
    "workers",
    "turns",
    "turns/s",
    "e2e p50",
    "e2e p99",
    "turn p50",
    "turn p99",
    "inject/s",
    "cpu/turn",
    ...(inProcess ? [] : ["bench cpu/turn"]),
    "wall s",
  ];
  const rows = results.map((r) => [
    env.node,
    String(env.cpus),
    r.cell.backend,
    String(r.cell.latencyMs),
    String(r.cell.sessions),
    String(r.cell.workers),
    r.delivered === r.turns ? String(r.turns) : `${r.delivered}/${r.turns}`,
    fmt(r.turnsPerSec, 1),
    fmt(r.e2e.p50),
    fmt(r.e2e.p99),
    fmt(r.turn.p50, 1),
    fmt(r.turn.p99, 1),
    fmt(r.injectPerSec),
    fmt(r.cpuPerTurnMs, 2),
    ...(inProcess ? [] : [fmt(r.benchCpuPerTurnMs, 2)]),
    fmt(r.wallSec, 1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cols: string[]) =>
    cols.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
}

/** Runs the benchmark; `args` are the options described in the module comment. */
export async function run(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const cells = planCells(opts);
  const env = { node: process.version, cpus: availableParallelism() };
  const cpuModel = cpus()[0]?.model.trim() ?? "unknown CPU";
  const mode = opts.inProcess
    ? "server, fake LLM, receiver and load generator in one process (--in-process)"
    : "server in its own process (`node src/main.ts serve`, a fresh one per cell, pid in each cell line); " +
      `fake LLM, receiver and load generator in the bench process (pid ${process.pid})`;
  console.log(
    `turns: node ${env.node} (${process.platform} ${process.arch}), ${env.cpus} CPUs (${cpuModel}); ` +
      `${mode}; ${INJECTORS} inject clients; delivery worker concurrency 16 (built-in default)`,
  );
  console.log(
    "  sqlite = node:sqlite file in a temp dir (WAL, synchronous=NORMAL)" +
      (postgresUrl ? "; postgres = fresh database on SWITCHYARD_TEST_POSTGRES_URL" : ""),
  );

  const llm = await startFakeLlm({ latencyMs: 0, record: false });
  const receiver = await startReceiver();
  const results: CellResult[] = [];
  try {
    // Process-wide warm-up (JIT, module init), not reported.
    const w0 = performance.now();
    await runCell(
      llm,
      receiver,
      {
        backend: "sqlite",
        latencyMs: 0,
        sessions: 10,
        workers: DEFAULT_WORKERS,
        turnsPerSession: 20,
      },
      opts.inProcess,
    );
    console.error(`  warm-up: ${fmt((performance.now() - w0) / 1000, 1)} s`);

    for (const cell of cells) {
      const r = await runCell(llm, receiver, cell, opts.inProcess);
      results.push(r);
      console.error(
        `  ${cell.backend} ${cell.latencyMs} ms × ${cell.sessions} sessions (workers ${cell.workers}): ` +
          `${r.delivered}/${r.turns} turns, ${fmt(r.turnsPerSec, 1)} turns/s, ` +
          `e2e p50 ${fmt(r.e2e.p50)} ms, turn p50 ${fmt(r.turn.p50, 1)} ms` +
          (r.pid === undefined ? "" : ` (server pid ${r.pid})`) +
          (r.errors ? `, ${r.errors} inject errors` : "") +
          (r.complete ? "" : `, INCOMPLETE after ${CELL_TIMEOUT_MS / 1000} s`),
      );
    }
  } finally {
    await receiver.close();
    await llm.close();
  }
  if (receiver.stats.duplicates || receiver.stats.malformed) {
    console.log(
      `  receiver: ${receiver.stats.duplicates} duplicate and ${receiver.stats.malformed} malformed deliveries`,
    );
  }
  console.log("");
  if (opts.inProcess) {
    console.log(
      "mode: server, fake LLM, receiver and load generator in one process (--in-process)",
    );
  } else {
    const pids = results.map((r) => r.pid).join(", ");
    console.log(
      `mode: server in its own process (pid ${pids}: one per cell); ` +
        `fake LLM, receiver and load generator in the bench process (pid ${process.pid})`,
    );
  }
  printTable(results, env, opts.inProcess);
  console.log(
    "\n  turns/s = deliveries / (last delivery − first inject); latencies in ms; " +
      "e2e = inject sent → webhook received;\n  turn = webhook received − max(inject sent, " +
      "previous delivery of that session) (the session's own backlog removed);\n" +
      (opts.inProcess
        ? "  cpu/turn = CPU ms (user+system, whole process: server, fake LLM, receiver, clients) per turn;"
        : "  cpu/turn = CPU ms (user+system, all threads) of the server process per turn (/proc/<pid>/stat);\n" +
          "  bench cpu/turn = CPU ms of the bench process (fake LLM, receiver, clients) per turn;") +
      "\n  wall s = whole cell incl. server start-up, warm-up and stop",
  );
}
