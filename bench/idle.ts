/**
 * Idle benchmark: the server's resident memory (RSS) and event-loop delay p99 while idle
 * with the example and GitHub integrations loaded, and again after 10,000 turns.
 *
 * Setup: `node src/main.ts serve` in its own process (the pinned Node, through the turns
 * bench's server helper) on a temp data dir and a temp SQLite file (or a fresh PostgreSQL
 * database with `--backend=postgres`), with the repository's `integrations/` (example and
 * GitHub, discovered as always) configured through the environment so both are `ready`
 * (their webhook secrets set; GitHub's API URL points at the local receiver and is never
 * called by these turns; the example's heartbeat process is not enabled). The fake LLM
 * (0 ms), the webhook receiver and the load generator stay in the bench process.
 *
 * Phases:
 * 1. idle for `--idle-s` (60 s): `GET /metrics` at the start and at the end. prom-client's
 *    default metrics give `process_resident_memory_bytes` (VmRSS) and
 *    `nodejs_eventloop_lag_p99_seconds`, the p99 of `perf_hooks.monitorEventLoopDelay`
 *    (resolution 10 ms), whose histogram is reset at every scrape: the second scrape gives
 *    the p99 over the window. Beside it, in the same window, a bare `node` process measures
 *    the same (its RSS and the same histogram): the floor of this machine and Node.
 * 2. `--turns` (10,000) messages with `run_agent: true` over `--sessions` (100) sessions,
 *    injected by `--clients` (16) concurrent clients, each delivered by the webhook
 *    dispatcher to the receiver; then until no task is pending or running and no delivery
 *    pending.
 * 3. idle again for `--settle-s` (30 s) and measure as in 1: the RSS after the turns against
 *    the idle RSS. A GC cannot be asked for from outside; V8's memory reducer collects and
 *    shrinks the heap on its own some seconds after the allocation rate drops (8–20 s in
 *    trial runs), so a shorter settle measures the garbage of the last turns, not a leak.
 *
 * Goals (issue 11): idle RSS under 150 MB, idle event-loop delay p99 under 20 ms, RSS after
 * the turns within 20 % of the idle RSS. Figures missing a goal are marked FAIL; the bench
 * itself fails only when turns are lost or the server dies.
 *
 * Options (after the bench name): --idle-s=60 --turns=10000 --sessions=100 --clients=16
 * --settle-s=30 --backend=sqlite.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { startFakeLlm } from "../test/support/fake-llm.ts";
import { type ApiClient, apiClient } from "./support/api-client.ts";
import { option } from "./support/args.ts";
import { scrape } from "./support/prometheus.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";
import { type CellServer, startCellServerProcess } from "./turns/server.ts";

export const description =
  "server RSS and event-loop delay p99 idle (example + GitHub loaded) and after 10,000 turns";

/** Goals of issue 11. */
const GOAL_IDLE_RSS_MB = 150;
const GOAL_ELD_P99_MS = 20;
const GOAL_RSS_GROWTH = 0.2;
/** Turns not delivered by then (from the first inject) fail the bench. */
const TURNS_TIMEOUT_MS = 240_000;
/** The integrations that must be loaded and ready. */
const INTEGRATIONS = ["example", "github"];

function parseArgs(args: string[]) {
  const backend = option(args, "backend") ?? "sqlite";
  if (backend !== "sqlite" && backend !== "postgres") throw new Error(`unknown backend ${backend}`);
  return {
    idleS: Number(option(args, "idle-s") ?? 60),
    settleS: Number(option(args, "settle-s") ?? 30),
    turns: Number(option(args, "turns") ?? 10_000),
    sessions: Number(option(args, "sessions") ?? 100),
    clients: Number(option(args, "clients") ?? 16),
    backend: backend as "sqlite" | "postgres",
  };
}

/** What one measured window gives. */
interface Window {
  /** RSS at the end, MB (2^20 bytes). */
  rssMb: number;
  /** V8 heap used at the end, MB. */
  heapUsedMb: number;
  /** Event-loop delay over the window, ms. */
  eldP99Ms: number;
  eldMaxMs: number;
  /** CPU the server used per second of the window, ms. */
  cpuMsPerS: number;
}

const MB = 2 ** 20;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Measures `server` over `seconds` of doing nothing (metrics scraped at both ends). */
async function idleWindow(server: CellServer, api: ApiClient, seconds: number): Promise<Window> {
  await scrape(api); // resets the event-loop delay histogram
  const cpu0 = server.cpuMs();
  await Promise.race([sleep(seconds * 1000), server.died]);
  const cpuMs = server.cpuMs() - cpu0;
  const m = await scrape(api);
  return {
    rssMb: m.value("process_resident_memory_bytes") / MB,
    heapUsedMb: m.value("nodejs_heap_size_used_bytes") / MB,
    eldP99Ms: m.value("nodejs_eventloop_lag_p99_seconds") * 1000,
    eldMaxMs: m.value("nodejs_eventloop_lag_max_seconds") * 1000,
    cpuMsPerS: cpuMs / seconds,
  };
}

/**
 * A bare `node` process (the same binary) idling for `seconds`: its RSS at the end and the
 * p99 and max of the same event-loop delay histogram as prom-client's, in ms.
 */
function bareNode(seconds: number): Promise<{ rssMb: number; eldP99Ms: number; eldMaxMs: number }> {
  const script = `
    const h = require("node:perf_hooks").monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    setTimeout(() => process.stdout.write(JSON.stringify({
      rssMb: process.memoryUsage.rss() / ${MB},
      eldP99Ms: h.percentile(99) / 1e6,
      eldMaxMs: h.max / 1e6,
    })), ${seconds * 1000});`;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.on("error", reject);
    p.on("exit", (code) => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`bare node exited ${code} with ${JSON.stringify(out)}`));
      }
    });
  });
}

/** Names and statuses of the integrations the server loaded (admin API). */
async function loadedIntegrations(api: ApiClient): Promise<Map<string, string>> {
  const r = await api.get("/api/v1/admin/integrations");
  if (r.status !== 200) throw new Error(`GET /api/v1/admin/integrations answered ${r.status}`);
  return new Map(
    (r.json as Array<{ folder: string; status: string }>).map((i) => [i.folder, i.status]),
  );
}

/**
 * Injects `turns` messages over `sessions` sessions through `clients` concurrent clients
 * and waits until the receiver has every delivery.
 * @throws Error when an inject fails or a turn is not delivered in time
 */
async function runTurns(
  api: ApiClient,
  receiver: Receiver,
  o: ReturnType<typeof parseArgs>,
): Promise<{ seconds: number; turnsPerS: number }> {
  const sessionIds: string[] = [];
  for (let s = 0; s < o.sessions; s++) {
    const r = await api.post("/api/v1/sessions", { client_id: `idle-bench-${s}` });
    if (r.status !== 201) throw new Error(`session create answered ${r.status}`);
    sessionIds.push(r.json.session_id);
  }
  const url = `${receiver.url}/hook`;
  const ids: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      while (next < o.turns) {
        const k = next++;
        const r = await api.post(`/api/v1/sessions/${sessionIds[k % o.sessions]}/messages`, {
          content: `idle bench message ${k}`,
          run_agent: true,
          dispatch_config: { type: "webhook", url },
        });
        if (r.status !== 201) throw new Error(`inject answered ${r.status}: ${r.text}`);
        ids.push(r.json.task_id);
      }
    }),
  );
  if (!(await receiver.waitFor(ids, started + TURNS_TIMEOUT_MS))) {
    const missing = ids.filter((id) => !receiver.deliveredAt.has(id)).length;
    throw new Error(`${missing} of ${o.turns} turns not delivered ${TURNS_TIMEOUT_MS / 1000} s`);
  }
  let last = 0;
  for (const id of ids) last = Math.max(last, receiver.deliveredAt.get(id)!);
  const seconds = (last - started) / 1000;
  return { seconds, turnsPerS: o.turns / seconds };
}

/** Resolves once the server has no pending or running task and no pending delivery. */
async function quiet(api: ApiClient, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const m = await scrape(api);
    const busy =
      m.sum("switchyard_tasks", (l) => l.status === "pending" || l.status === "running") +
      m.sum("switchyard_deliveries", (l) => l.status === "pending");
    if (busy === 0) return;
    if (performance.now() > deadline)
      throw new Error(`server still busy (${busy}) after the turns`);
    await sleep(200);
  }
}

/** A figure of /proc/<pid>/status (`VmRSS`, `VmHWM` = peak RSS) in MB; NaN where unavailable. */
function procRssMb(pid: number | undefined, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Reads the RSS of `pid` every second (from /proc, so the server does no work for it) until
 * stopped: the RSS at the start, and the seconds until it first came down to `limitMb`.
 */
function watchRss(pid: number | undefined, limitMb: number) {
  const started = performance.now();
  const firstMb = procRssMb(pid, "VmRSS");
  let belowAfterS = firstMb <= limitMb ? 0 : Number.NaN;
  const timer = setInterval(() => {
    if (Number.isNaN(belowAfterS) && procRssMb(pid, "VmRSS") <= limitMb) {
      belowAfterS = (performance.now() - started) / 1000;
    }
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return { firstMb, belowAfterS };
    },
  };
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const verdict = (ok: boolean) => (ok ? "pass" : "FAIL");

/** Runs the benchmark (see the module comment for options). */
export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const llm = await startFakeLlm({ latencyMs: 0, record: false });
  const receiver = await startReceiver();
  const server = await startCellServerProcess(llm, {
    backend: o.backend,
    workers: 16,
    env: {
      EXAMPLE_WEBHOOK_SECRET: "idle-bench-example-secret-0123456789",
      GITHUB_WEBHOOK_SECRET: "idle-bench-github-secret-0123456789",
      GITHUB_TOKEN: "idle-bench-token-never-sent",
      GITHUB_API_URL: `${receiver.url}/github-api`,
      GITHUB_BOT_LOGIN: "idle-bench-bot",
    },
  });
  const api = apiClient(server.url, o.clients * 2);
  try {
    const loaded = await loadedIntegrations(api);
    const notReady = INTEGRATIONS.filter((n) => loaded.get(n) !== "ready");
    if (notReady.length) {
      throw new Error(`integrations not ready: ${JSON.stringify(Object.fromEntries(loaded))}`);
    }
    const cpuModel = cpus()[0]?.model.trim() ?? "unknown CPU";
    console.log(
      `  node ${process.version} (${process.platform} ${process.arch}), ${availableParallelism()} CPUs (${cpuModel}); ` +
        `server \`node src/main.ts serve\` pid ${server.pid} on ${o.backend === "sqlite" ? "SQLite (temp file)" : "PostgreSQL (fresh database)"}; ` +
        `integrations: ${[...loaded].map(([n, s]) => `${n} (${s})`).join(", ")}`,
    );
    console.log(
      `  fake LLM (0 ms), webhook receiver and ${o.clients} clients in the bench process (pid ${process.pid}); ` +
        "beside the idle server, a bare `node` idling for the same window",
    );

    const [idle, bare] = await Promise.all([idleWindow(server, api, o.idleS), bareNode(o.idleS)]);
    console.error(`  idle ${o.idleS} s measured; running ${o.turns} turns`);
    const turns = await Promise.race([runTurns(api, receiver, o), server.died]);
    await Promise.race([quiet(api, 60_000), server.died]);
    const peakMb = procRssMb(server.pid, "VmHWM");
    const watch = watchRss(server.pid, idle.rssMb * (1 + GOAL_RSS_GROWTH));
    const after = await idleWindow(server, api, o.settleS);
    const settling = watch.stop();

    const growth = after.rssMb / idle.rssMb - 1;
    const row = (label: string, value: string, beside: string, goal: string, ok: boolean) =>
      console.log(
        `  ${label.padEnd(34)} ${value.padStart(9)}  ${beside.padEnd(22)} goal ${goal.padEnd(10)} ${verdict(ok)}`,
      );
    console.log("");
    row(
      `idle ${o.idleS} s: RSS`,
      `${f(idle.rssMb)} MB`,
      `bare node ${f(bare.rssMb)} MB`,
      `< ${GOAL_IDLE_RSS_MB} MB`,
      idle.rssMb < GOAL_IDLE_RSS_MB,
    );
    row(
      `idle ${o.idleS} s: event-loop delay p99`,
      `${f(idle.eldP99Ms)} ms`,
      `bare node ${f(bare.eldP99Ms)} ms`,
      `< ${GOAL_ELD_P99_MS} ms`,
      idle.eldP99Ms < GOAL_ELD_P99_MS,
    );
    row(
      `after ${o.turns} turns + ${o.settleS} s: RSS`,
      `${f(after.rssMb)} MB`,
      `after/idle ${f(after.rssMb / idle.rssMb, 2)}`,
      `≤ ${f(1 + GOAL_RSS_GROWTH, 2)}×`,
      growth <= GOAL_RSS_GROWTH,
    );
    console.log(
      `  turns: ${o.turns} over ${o.sessions} sessions in ${f(turns.seconds)} s = ${f(turns.turnsPerS, 0)} turns/s` +
        ` (inject → webhook delivery, ${o.clients} clients); peak RSS during them ${f(peakMb)} MB`,
    );
    console.log(
      `  settling: RSS ${f(settling.firstMb)} MB when the last turn was done; within ${GOAL_RSS_GROWTH * 100} % of idle ` +
        (Number.isNaN(settling.belowAfterS)
          ? `not within ${o.settleS} s`
          : `after ${f(settling.belowAfterS, 0)} s`),
    );
    console.log(
      `  after the turns: event-loop delay p99 ${f(after.eldP99Ms)} ms (max ${f(after.eldMaxMs)} ms); ` +
        `V8 heap used ${f(idle.heapUsedMb)} → ${f(after.heapUsedMb)} MB`,
    );
    console.log(
      `  idle: event-loop delay max ${f(idle.eldMaxMs)} ms (bare node ${f(bare.eldMaxMs)} ms); ` +
        `server CPU ${f(idle.cpuMsPerS)} ms/s idle, ${f(after.cpuMsPerS)} ms/s settling`,
    );
    console.log(
      "  (event-loop delay = perf_hooks.monitorEventLoopDelay at 10 ms resolution, as prom-client's " +
        "nodejs_eventloop_lag_p99_seconds: it includes the 10 ms timer interval, so an idle loop reads ~10–12 ms)",
    );
  } finally {
    await api.close();
    await server.close();
    await receiver.close();
    await llm.close();
  }
}
