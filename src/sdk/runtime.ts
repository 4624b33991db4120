/**
 * The runtime provider contract (seed `002_…`): an execution backend for a bot's file and
 * command tools, one per scope. Core ships `host` and `bubblewrap` (src/runtime/); an
 * integration folder adds one with `runtime.ts`, whose default export is a
 * {@link RuntimeProviderDefinition} called with the folder's ctx (no side effects at import).
 * A bot selects one with `runtime.provider` (the folder name).
 */
import type { IntegrationContext } from "./context.ts";
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
  /**
   * Whether the command may use the network (the bot's `runtime.network`, default false).
   * Providers that cannot take the network away (`host`) ignore it.
   */
  network?: boolean;
  /** Aborted when the task is cancelled: the provider kills the command's processes. */
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
  /** The provider's name (`host`, `bubblewrap`, or the integration folder's). */
  name: string;
  /**
   * The scope root as the commands see it. The file tools accept absolute paths under it
   * (and under the scope's host folder) as well as relative ones.
   */
  root: string;
  bash(input: BashInput): Promise<BashResult>;
}

/** A runtime provider (`runtime.ts` in an integration folder, or core's `host`/`bubblewrap`). */
export interface RuntimeProvider {
  get(scope: RuntimeScope): Runtime | Promise<Runtime>;
  /** Stops one scope's backend, or all when `scope` is omitted. */
  stop(scope?: OwnerScope): Promise<void>;
}

/** `runtime.ts` in an integration folder: builds the provider from the folder's ctx. */
export type RuntimeProviderDefinition = (ctx: IntegrationContext) => RuntimeProvider;
