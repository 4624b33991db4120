/**
 * A real `switchyard serve` in a child process: the one way tests and benchmarks run the
 * server as users do (crash tests: SIGKILL and restart on the same database; the turns
 * benchmark: a fresh server per cell). Also the environment every test server starts
 * with, and a JSON client for its API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

/** How much of a server's stdout and stderr is kept for error messages, characters each. */
const OUTPUT_KEPT = 4000;

/** What a test server needs to know; see {@link testServerEnv}. */
export interface TestServerSettings {
  /** SWITCHYARD_DATA_DIR (a temp dir). */
  dataDir: string;
  /** DATABASE_URL (`sqlite:<file>` or a PostgreSQL URL). */
  databaseUrl: string;
  /** The fake LLM's base URL (`…/v1`). */
  llmBaseUrl: string;
  /** SWITCHYARD_API_KEY. */
  apiKey: string;
}

/**
 * The settings every test server starts with, in process or not: 127.0.0.1 on a free port,
 * the fake LLM as model `openai-compatible:fake-model`, and private URLs allowed (every
 * fake is on 127.0.0.1).
 */
export function testServerEnv(s: TestServerSettings): Record<string, string> {
  return {
    PORT: "0",
    HOST: "127.0.0.1",
    SWITCHYARD_DATA_DIR: s.dataDir,
    DATABASE_URL: s.databaseUrl,
    SWITCHYARD_API_KEY: s.apiKey,
    SWITCHYARD_MODEL: "openai-compatible:fake-model",
    SWITCHYARD_LLM_BASE_URL: s.llmBaseUrl,
    SWITCHYARD_ALLOW_PRIVATE_URLS: "true",
  };
}

/** A running server process. */
export interface ServerProcess {
  proc: ChildProcess;
  pid: number;
  /** Its base URL, from the banner. */
  url: string;
  /** Resolves with the exit code once it exits (null when a signal ended it: `proc.signalCode`). */
  exited: Promise<number | null>;
  /** The last few kB of its stdout and stderr, labelled; "" when it printed nothing. */
  output(): string;
  /** SIGKILL (as a crash would); resolves once it has exited. */
  kill(): Promise<void>;
  /**
   * SIGTERM, then SIGKILL when it has not exited after `timeoutMs` (default 10000).
   * Resolves once it has exited: `killed` says whether SIGKILL was needed.
   */
  stop(timeoutMs?: number): Promise<{ killed: boolean }>;
}

/** Options of {@link startServerProcess}. */
export interface ServeOptions {
  /** How long it may take to listen, ms (default 60000); then it is killed and the start fails. */
  startTimeoutMs?: number;
}

/** Server processes still running: killed if this process exits first (a watchdog, a crash). */
const live = new Set<ChildProcess>();
const killLive = (): void => {
  for (const p of live) p.kill("SIGKILL");
};

/**
 * Spawns `src/main.ts serve` with the pinned Node (`process.execPath`), only PATH and
 * `env` in its environment, and cwd `env.SWITCHYARD_DATA_DIR` (so no `.env` of the
 * checkout is read); resolves once its banner says where it listens.
 * @throws Error with its output when it exits, or does not listen in time, before listening
 */
export function startServerProcess(
  env: Record<string, string>,
  opts: ServeOptions = {},
): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [join(ROOT, "src/main.ts"), "serve"], {
    cwd: env.SWITCHYARD_DATA_DIR,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (live.size === 0) process.on("exit", killLive);
  live.add(proc);
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => {
      live.delete(proc);
      if (live.size === 0) process.off("exit", killLive);
      resolve(code);
    }),
  );
  const out = tail();
  const err = tail();
  proc.stderr!.on("data", err.add);
  const output = () =>
    [out.get() && `stdout:\n${out.get()}`, err.get() && `stderr:\n${err.get()}`]
      .filter(Boolean)
      .join("\n");

  const stop = async (timeoutMs = 10_000) => {
    let killed = false;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      killed = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (killed) proc.kill("SIGKILL");
    }
    await exited;
    return { killed };
  };

  const kill = async () => {
    proc.kill("SIGKILL");
    await exited;
  };

  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    let seen = "";
    let listening = false;
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`server did not listen within ${startTimeoutMs / 1000} s\n${output()}`));
    }, startTimeoutMs);
    proc.stdout!.on("data", (d: Buffer) => {
      out.add(d);
      if (listening) return;
      seen += d;
      const m = /listening on (http:\/\/\S+)/.exec(seen);
      if (!m) return;
      listening = true;
      clearTimeout(timer);
      resolve({ proc, pid: proc.pid!, url: m[1]!, exited, output, kill, stop });
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`server exited (${code ?? proc.signalCode}) before listening:\n${output()}`),
      );
    });
  });
}

/**
 * SIGKILLs every server process started here that is still running (a suite's `after`);
 * resolves once they have exited.
 */
export async function killServerProcesses(): Promise<void> {
  const exits = [...live].map((p) => new Promise((resolve) => p.once("exit", resolve)));
  killLive();
  await Promise.all(exits);
}

/** Keeps the last {@link OUTPUT_KEPT} characters of a stream. */
function tail() {
  let text = "";
  return {
    add: (d: Buffer | string) => {
      text += d;
      if (text.length > OUTPUT_KEPT * 2) text = text.slice(-OUTPUT_KEPT);
    },
    get: () => text.slice(-OUTPUT_KEPT).trim(),
  };
}

/** Calls the API at `url` with bearer `key`; returns the status and parsed JSON body. */
export async function callApi(
  url: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}
