/**
 * The `host` runtime provider: commands run on this machine, as the server's user, with
 * the scope folder as working directory and HOME, a scrubbed environment (PATH, HOME, LANG:
 * no server secrets), in their own process group that is killed whole on timeout or
 * cancel. It confines the working directory, not the command: a command can read what the
 * server's user can read and use the network. Use `bubblewrap` for isolation.
 */
import { stat } from "node:fs/promises";
import type {
  BashInput,
  BashResult,
  Runtime,
  RuntimeProvider,
  RuntimeScope,
} from "../sdk/runtime.ts";
import { PathEscapeError, resolveInScope } from "./paths.ts";
import { runCommand, SHELL, scrubbedEnv } from "./spawn.ts";

/** Limits used when a call names none. */
export interface CommandDefaults {
  /** ms (default 120 000). */
  timeoutMs?: number;
  /** bytes per stream (default 65 536). */
  maxOutputBytes?: number;
  /** Between SIGTERM and SIGKILL, ms (default 2000). */
  killGraceMs?: number;
}

/**
 * The working directory of a call: `input.cwd` confined to the scope, else its root.
 * @throws PathEscapeError when it leaves the scope or is not an existing folder
 */
export async function commandCwd(scope: RuntimeScope, input: BashInput): Promise<string> {
  const cwd = await resolveInScope({ hostRoot: scope.path }, input.cwd ?? ".");
  const st = await stat(cwd).catch(() => undefined);
  if (!st?.isDirectory())
    throw new PathEscapeError(`cwd ${input.cwd} is not a folder in the workspace`);
  return cwd;
}

/** Builds the `host` provider. */
export function createHostProvider(defaults: CommandDefaults = {}): RuntimeProvider {
  return {
    get(scope: RuntimeScope): Runtime {
      return {
        name: "host",
        root: scope.path,
        async bash(input: BashInput): Promise<BashResult> {
          return runCommand({
            file: SHELL,
            args: ["-c", input.command],
            cwd: await commandCwd(scope, input),
            env: scrubbedEnv(scope.path),
            timeoutMs: input.timeoutMs ?? defaults.timeoutMs ?? 120_000,
            maxOutputBytes: input.maxOutputBytes ?? defaults.maxOutputBytes ?? 65_536,
            signal: input.signal,
            killGraceMs: defaults.killGraceMs,
          });
        },
      };
    },
    // Nothing outlives a call: each command's process group is gone when bash() resolves.
    async stop() {},
  };
}
