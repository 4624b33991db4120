/**
 * A real `switchyard serve` in a child process (for crash tests: SIGKILL and restart on
 * the same database), and a JSON client for its API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

/** A running server process. */
export interface ServerProcess {
  proc: ChildProcess;
  /** Its base URL, from the banner. */
  url: string;
  /** Resolves with the exit code once it exits. */
  exited: Promise<number | null>;
}

/**
 * Spawns `src/main.ts serve` with only PATH and `env` in its environment (cwd
 * `env.SWITCHYARD_DATA_DIR`), and resolves once its banner says where it listens.
 * @throws Error with its output when it exits before listening
 */
export function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [join(ROOT, "src/main.ts"), "serve"], {
    cwd: env.SWITCHYARD_DATA_DIR,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((res) => proc.once("exit", (code) => res(code)));
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    proc.stderr!.on("data", (d) => {
      err += d;
    });
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]!, exited });
    });
    exited.then((code) =>
      reject(new Error(`server exited (${code}) before listening:\n${out}\n${err}`)),
    );
  });
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
