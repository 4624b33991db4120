/**
 * The `bubblewrap` runtime provider: each command runs under `bwrap` (Debian's
 * `bubblewrap`) in fresh namespaces: a read-only view of a minimal set of system folders
 * (`/usr`, `/bin`, `/lib*`, `/sbin` and a few files of `/etc`: no home folders, no server
 * files, no data dir), the scope folder bound read-write at its own path (the only
 * writable place besides a private `/tmp`), its own `/proc` and `/dev`, its own PID space,
 * and no network unless the bot's `runtime.network` is true. The environment is scrubbed as
 * for `host`. `--die-with-parent` and the PID namespace make killing `bwrap` kill everything
 * inside, so the host's group kill (SIGTERM, then SIGKILL) ends the whole command.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  BashInput,
  BashResult,
  Runtime,
  RuntimeProvider,
  RuntimeScope,
} from "../sdk/runtime.ts";
import { type CommandDefaults, commandCwd } from "./host.ts";
import { isInside } from "./paths.ts";
import { runCommand, SHELL, scrubbedEnv } from "./spawn.ts";

/** Where `bwrap` is looked for, in order. */
export const BWRAP_PATHS = ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"];

/** System folders shown read-only (each when it exists; a symlink is recreated as one). */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** Files and folders of /etc that programs need (users, DNS, TLS roots, the loader, alternatives). */
const ETC_ENTRIES = [
  "/etc/alternatives",
  "/etc/ca-certificates",
  "/etc/ssl/certs",
  "/etc/passwd",
  "/etc/group",
  "/etc/nsswitch.conf",
  "/etc/hosts",
  "/etc/resolv.conf",
  "/etc/localtime",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
];

/** What the sandbox must hide even when it sits under a system folder. */
export interface SandboxPaths {
  /** The server's data dir and workspace: replaced by an empty tmpfs if under a bound folder. */
  hidden: string[];
}

/** The `bwrap` arguments (before the command) for one call in `scope`. */
export function sandboxArgs(
  scope: RuntimeScope,
  cwd: string,
  opts: { network: boolean; hidden: string[] },
): string[] {
  const args: string[] = [];
  const bound: string[] = [];
  for (const dir of [...SYSTEM_DIRS, ...ETC_ENTRIES]) {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink() && SYSTEM_DIRS.includes(dir)) {
      args.push("--symlink", readlinkSync(dir), dir);
    } else {
      args.push("--ro-bind", dir, dir);
      bound.push(dir);
    }
  }
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  for (const h of opts.hidden) {
    if (bound.some((b) => isInside(b, h)) && existsSync(h)) args.push("--tmpfs", h);
  }
  args.push("--bind", scope.path, scope.path);
  // The root bwrap builds is a tmpfs: made read-only once every mount point exists in it.
  args.push("--remount-ro", "/", "--chdir", cwd);
  args.push("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try");
  if (!opts.network) args.push("--unshare-net");
  args.push("--hostname", "sandbox", "--die-with-parent", "--new-session");
  return args;
}

/** Whether `bwrap` works here, and why not. */
export interface BwrapProbe {
  ok: boolean;
  /** The executable found (when any). */
  path?: string;
  /** Why it cannot be used (when not ok). */
  reason?: string;
}

let probed: BwrapProbe | undefined;

/**
 * Checks once per process that `bwrap` exists and can start a sandbox as this provider
 * builds it (namespaces may be forbidden in a container): runs `true` inside one.
 * @param bwrapPath an explicit executable (skips the search and the cache)
 */
export function probeBwrap(bwrapPath?: string): BwrapProbe {
  if (!bwrapPath && probed) return probed;
  const path = bwrapPath ?? BWRAP_PATHS.find((p) => existsSync(p));
  let result: BwrapProbe;
  if (!path) {
    result = { ok: false, reason: "bwrap not found (install Debian's bubblewrap)" };
  } else {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-bwrap-probe-"));
    try {
      const scope: RuntimeScope = { kind: "bot", id: "probe", path: dir };
      const r = spawnSync(
        path,
        [...sandboxArgs(scope, dir, { network: false, hidden: [] }), SHELL, "-c", "true"],
        {
          timeout: 10_000,
          encoding: "utf8",
          env: scrubbedEnv(dir),
        },
      );
      result =
        r.status === 0
          ? { ok: true, path }
          : {
              ok: false,
              path,
              reason: `${path} cannot start a sandbox here: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`,
            };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!bwrapPath) probed = result;
  return result;
}

/** Options of {@link createBubblewrapProvider}. */
export interface BubblewrapOptions extends CommandDefaults {
  /** The `bwrap` executable. */
  bwrapPath: string;
  /** Folders never to show (the data dir, the workspace). */
  hidden: string[];
}

/** Builds the `bubblewrap` provider (check {@link probeBwrap} first). */
export function createBubblewrapProvider(opts: BubblewrapOptions): RuntimeProvider {
  return {
    get(scope: RuntimeScope): Runtime {
      return {
        name: "bubblewrap",
        root: scope.path,
        async bash(input: BashInput): Promise<BashResult> {
          const cwd = await commandCwd(scope, input);
          const args = sandboxArgs(scope, cwd, {
            network: input.network === true,
            hidden: opts.hidden,
          });
          return runCommand({
            file: opts.bwrapPath,
            args: [...args, SHELL, "-c", input.command],
            cwd,
            env: scrubbedEnv(scope.path),
            timeoutMs: input.timeoutMs ?? opts.timeoutMs ?? 120_000,
            maxOutputBytes: input.maxOutputBytes ?? opts.maxOutputBytes ?? 65_536,
            signal: input.signal,
            killGraceMs: opts.killGraceMs,
          });
        },
      };
    },
    async stop() {},
  };
}
