/** Runs a command to completion with a clean environment (PATH plus `env`) and collects its output. */
import { spawn } from "node:child_process";

/** Exit code (null when killed by a signal) and the collected output. */
export interface RunResult {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Spawns `cmd args` in `cwd`; resolves when it exits. No NODE_TEST_CONTEXT or other stray
 * variables leak in. `input`, when given, is written to its stdin, which is then closed.
 */
export function runCommand(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  input?: string,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { PATH: process.env.PATH ?? "", ...env } });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.on("exit", (code) => resolve({ code, out, err }));
    if (input !== undefined) p.stdin.end(input);
  });
}
