/**
 * Runs one command for a runtime provider: in its own process group, with a scrubbed
 * environment, output kept up to a cap per stream, and the whole group killed (SIGTERM,
 * then SIGKILL after a grace period) on timeout or when the task's signal aborts. When the
 * command exits by itself, whatever it left running in its group is killed too: a call
 * leaves nothing behind.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { BashResult } from "../sdk/runtime.ts";

/** One process to run. */
export interface RunSpec {
  file: string;
  args: string[];
  cwd: string;
  /** The child's whole environment (nothing is inherited). */
  env: Record<string, string>;
  /** Kill after this many ms. */
  timeoutMs: number;
  /** Bytes kept per stream; the rest is read and dropped. */
  maxOutputBytes: number;
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL, ms (default 2000). */
  killGraceMs?: number;
}

/** The shell commands run with: bash where there is one (the tool is called `bash`), else sh. */
export const SHELL = ["/bin/bash", "/usr/bin/bash"].find((p) => existsSync(p)) ?? "/bin/sh";

/**
 * The environment of a command: PATH, HOME (the scope root), LANG, and nothing of the
 * server's (no keys, no database URL). `LANG` is the server's when set, else C.UTF-8.
 */
export function scrubbedEnv(home: string, lang = process.env.LANG): Record<string, string> {
  return {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: home,
    LANG: lang || "C.UTF-8",
  };
}

/** Keeps the first `max` bytes of a stream and counts the rest. */
class Capped {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  readonly max: number;
  truncated = false;
  constructor(max: number) {
    this.max = max;
  }

  push(chunk: Buffer): void {
    const room = this.max - this.#kept;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }
}

/** Sends `sig` to the process group `pgid`; a group already gone is fine. */
function killGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {}
}

/**
 * Runs `spec` and resolves when its process group is gone and its output read.
 * @returns exit code (null when killed by a signal), output, `timedOut`, `truncated`, duration
 * @throws Error when the process cannot be started (e.g. the file does not exist)
 */
export function runCommand(spec: RunSpec): Promise<BashResult> {
  const started = performance.now();
  const grace = spec.killGraceMs ?? 2000;
  return new Promise<BashResult>((resolvePromise, reject) => {
    if (spec.signal?.aborted) {
      reject(spec.signal.reason ?? new Error("aborted"));
      return;
    }
    const child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true, // its own process group: the kill reaches every descendant
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = new Capped(spec.maxOutputBytes);
    const err = new Capped(spec.maxOutputBytes);
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    let timedOut = false;
    let exitCode: number | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const terminate = () => {
      if (killTimer || child.pid === undefined) return;
      killGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => killGroup(child.pid!, "SIGKILL"), grace);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, spec.timeoutMs);
    const onAbort = () => terminate();
    spec.signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      spec.signal?.removeEventListener("abort", onAbort);
    };
    child.once("error", (e) => {
      done();
      reject(e);
    });
    child.once("exit", (code) => {
      exitCode = code;
      // Anything still running in the group (a background job) is ended with the call.
      if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
      // A process that left the group but holds the pipes must not hold the call.
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1000);
    });
    child.once("close", () => {
      done();
      if (spec.signal?.aborted) {
        reject(spec.signal.reason ?? new Error("aborted"));
        return;
      }
      resolvePromise({
        exitCode,
        stdout: out.text(),
        stderr: err.text(),
        timedOut,
        truncated: out.truncated || err.truncated,
        durationMs: Math.round(performance.now() - started),
      });
    });
  });
}
