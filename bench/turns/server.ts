/**
 * The server of one turns-bench cell: `node src/main.ts serve` in its own process (the
 * default, through the shared serve-process helper) or in the bench's process
 * (`--in-process`, the shared test app), and the CPU time a server process has used.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startTestApp, TEST_API_KEY } from "../../test/support/app.ts";
import { createTestDatabase, tempDir } from "../../test/support/db.ts";
import type { FakeLlm } from "../../test/support/fake-llm.ts";
import {
  type ServerProcess,
  startServerProcess,
  testServerEnv,
} from "../../test/support/serve-process.ts";

/** What a cell's server needs to know. */
export interface ServerSpec {
  backend: "sqlite" | "postgres";
  /** SWITCHYARD_WORKER_CONCURRENCY. */
  workers: number;
  /** More environment for a server process (e.g. integration settings); ignored in-process. */
  env?: Record<string, string>;
  /**
   * A PostgreSQL database another server of the cell already uses (a second instance):
   * shared, and left for its creator to drop. Default: a fresh database for this server.
   */
  databaseUrl?: string;
}

/** A running server for one cell. */
export interface CellServer {
  url: string;
  /** Process id when the server has its own process. */
  pid: number | undefined;
  /** CPU ms (user + system) the server process has used so far; NaN in-process. */
  cpuMs(): number;
  /** The database URL it uses (a second instance of the cell is given it). */
  databaseUrl: string;
  /** Rejects if the server process exits before `close()` (never settles in-process). */
  died: Promise<never>;
  close(): Promise<void>;
}

/** A server process that has not printed its URL by then is a failure. */
const START_TIMEOUT_MS = 30_000;
/** After SIGTERM a server process gets this long to exit before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Starts `node src/main.ts serve` for a cell, on a temp data dir and a SQLite file there or
 * a fresh PostgreSQL database, and waits until it listens.
 * @throws Error with the server's output when it does not start
 */
export async function startCellServerProcess(llm: FakeLlm, spec: ServerSpec): Promise<CellServer> {
  const dir = tempDir("switchyard-bench-");
  const pg =
    spec.backend === "postgres" && !spec.databaseUrl
      ? await createTestDatabase("postgres")
      : undefined;
  const cleanup = async () => {
    try {
      await pg?.drop();
    } finally {
      dir.remove();
    }
  };
  const databaseUrl = spec.databaseUrl ?? pg?.url ?? `sqlite:${join(dir.path, "switchyard.db")}`;
  const env = {
    ...testServerEnv({
      dataDir: dir.path,
      databaseUrl,
      llmBaseUrl: llm.baseUrl,
      apiKey: TEST_API_KEY,
    }),
    SWITCHYARD_LOG_LEVEL: "warn",
    SWITCHYARD_WORKER_CONCURRENCY: String(spec.workers),
    ...spec.env,
  };
  let server: ServerProcess;
  try {
    server = await startServerProcess(env, { startTimeoutMs: START_TIMEOUT_MS });
  } catch (e) {
    await cleanup();
    throw e;
  }

  let closing = false;
  const died = server.exited.then((code) => {
    if (closing) return new Promise<never>(() => {});
    throw new Error(
      `server pid ${server.pid} exited (${code ?? server.proc.signalCode}) during the cell\n${server.output()}`,
    );
  });
  died.catch(() => {}); // observed by runCell; do not crash if nobody is racing it
  return {
    url: server.url,
    pid: server.pid,
    databaseUrl,
    cpuMs: () => processCpuMs(server.pid),
    died,
    async close() {
      closing = true;
      try {
        const { killed } = await server.stop(STOP_TIMEOUT_MS);
        if (killed) {
          console.error(
            `  server pid ${server.pid} did not exit ${STOP_TIMEOUT_MS / 1000} s after SIGTERM; SIGKILL`,
          );
        }
      } finally {
        await cleanup();
      }
    },
  };
}

/** Starts the server in this process (`startTestApp`), as before `--in-process` existed. */
export async function startCellServerInProcess(
  llm: FakeLlm,
  spec: ServerSpec,
): Promise<CellServer> {
  const shared = spec.databaseUrl
    ? { kind: spec.backend, url: spec.databaseUrl, drop: async () => {} }
    : undefined;
  const t = await startTestApp({
    llm,
    backend: spec.backend,
    keepDb: shared,
    env: { SWITCHYARD_WORKER_CONCURRENCY: String(spec.workers) },
  });
  return {
    url: t.url,
    pid: undefined,
    databaseUrl: t.db.url,
    cpuMs: () => Number.NaN,
    died: new Promise<never>(() => {}),
    async close() {
      if (spec.backend === "postgres") {
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
