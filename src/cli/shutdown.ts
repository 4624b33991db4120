/**
 * How `switchyard serve` ends: on SIGTERM or SIGINT (a second one forces), or when the
 * npm/npx process that started it goes away, it stops the server once, prints
 * "switchyard: stopped" and exits 0. The whole stop is bounded: whatever still runs
 * {@link SHUTDOWN_MARGIN_MS} after the grace period (a stuck task, a send that hangs), the
 * process exits (code 1) and says so.
 */

/** Time the stop may take beyond the grace period (giving leases back, draining, closing), ms. */
export const SHUTDOWN_MARGIN_MS = 5000;

/** How often the parent process is checked when started by npm or npx, ms. */
const PARENT_CHECK_MS = 1000;

/** Options of {@link stopOnSignals}. */
export interface ShutdownOptions {
  /** Stops the server (App.stop): resolves once everything is closed. */
  stop: () => Promise<void>;
  /** The shutdown grace period, ms; the process exits at most {@link SHUTDOWN_MARGIN_MS} after it. */
  graceMs: number;
  /**
   * Stop when the parent process exits (its pid changes). True under npm or npx
   * (`npm_lifecycle_event` is set): they run the server through `sh -c`, and a process
   * manager's SIGTERM to npm ends npm and sh but never reaches the server. Not otherwise:
   * `nohup switchyard &` must outlive its shell.
   */
  watchParent: boolean;
}

/**
 * Installs the SIGTERM/SIGINT handlers (and the parent watch) that stop the server and
 * exit the process; see the module comment for the exit codes and bounds.
 */
export function stopOnSignals(opts: ShutdownOptions): void {
  let stopping = false;
  const begin = (why: string) => {
    if (stopping) {
      process.stdout.write(`switchyard: ${why} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    clearInterval(parentWatch);
    process.stdout.write(`switchyard: ${why}, stopping (again to force)\n`);
    const boundMs = opts.graceMs + SHUTDOWN_MARGIN_MS;
    setTimeout(() => {
      process.stderr.write(
        `switchyard: still stopping ${boundMs / 1000} s after ${why}; exiting now\n`,
      );
      process.exit(1);
    }, boundMs);
    opts.stop().then(
      () => {
        process.stdout.write("switchyard: stopped\n");
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`switchyard: error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => begin("SIGTERM received"));
  process.on("SIGINT", () => begin("SIGINT received"));
  const parent = process.ppid;
  const parentWatch = opts.watchParent
    ? setInterval(() => {
        if (process.ppid !== parent) begin(`parent process ${parent} exited`);
      }, PARENT_CHECK_MS).unref()
    : undefined;
}

/** True when an npm script or npx started this process (they set `npm_lifecycle_event`). */
export function startedByNpm(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.npm_lifecycle_event);
}
