/**
 * The runtime provider contract (seed `002_…`): an execution backend for a bot's file and
 * command tools, one per scope. Types only for now; the `host` and `bubblewrap` providers
 * come with the runtime issue.
 */
import type { OwnerScope } from "./scopes.ts";

/** A scope with the folder the provider should treat as its root. */
export interface RuntimeScope extends OwnerScope {
  /** Absolute path of the scope's folder (`<workspace>/scopes/<kind>/<id>`). */
  path: string;
}

/** One command to run in a scope. */
export interface BashInput {
  command: string;
  /** Relative to the scope root; default the root. */
  cwd?: string;
  /** Kills the whole process group after this many ms. */
  timeoutMs?: number;
  /** Output kept per stream, in bytes; the rest is cut and `truncated` says so. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
}

/** What a command did. */
export interface BashResult {
  /** Exit code, or null when killed. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
}

/** A scoped runtime. */
export interface Runtime {
  name: string;
  /** The scope root as the commands see it. */
  root: string;
  bash(input: BashInput): Promise<BashResult>;
}

/** A runtime provider (`runtime.ts` in an integration folder, or core's `host`/`bubblewrap`). */
export interface RuntimeProvider {
  get(scope: RuntimeScope): Runtime | Promise<Runtime>;
  /** Stops one scope's backend, or all when `scope` is omitted. */
  stop(scope?: OwnerScope): Promise<void>;
}
