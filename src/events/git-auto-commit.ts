/**
 * Git auto-commit (seed 003): when enabled, each event named in `on_events` commits every
 * change in the workspace directory (`SWITCHYARD_WORKSPACE_DIR`) with a message naming
 * the event. The settings live in `integrations_state` under `git_auto_commit` (versioned,
 * compare-and-set, so several processes can change them safely).
 *
 * - The workspace is its own repository: when it has no `.git`, `git init` makes one
 *   (it never commits into a repository that merely contains the workspace).
 * - Without a configured identity, a local `user.name` / `user.email` (`switchyard`,
 *   `switchyard@localhost`) is set in that repository.
 * - git runs with `execFile` (no shell), each command time-limited; commits of one process
 *   run one after another (a promise chain). Two processes committing at once are kept
 *   apart by git's own `index.lock`: the loser's error is reported like any other.
 * - Nothing changed → no commit. A git failure is logged and handed to `onError` (an
 *   `error` event) with a secret-free message; it never reaches the caller.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Store } from "../store/index.ts";
import type { StateDoc } from "../store/integrations-state.ts";
import {
  AUTO_COMMIT_DEFAULT_EVENTS,
  EVENT_NAMES,
  type GitAutoCommitConfig,
  OutboundInputError,
} from "./outbound-types.ts";

/** The `integrations_state` key of the settings. */
export const GIT_AUTO_COMMIT_KEY = "git_auto_commit";

/** The settings before anyone sets them: off, on the seed's default events. */
export function defaultGitAutoCommitConfig(): GitAutoCommitConfig {
  return { enabled: false, on_events: [...AUTO_COMMIT_DEFAULT_EVENTS] };
}

/**
 * The stored settings with their version (0 and `updatedAt` 0 when never set).
 * Works on a bare store, without a {@link GitAutoCommit} (e.g. `switchyard state export`).
 */
export async function loadGitAutoCommitConfig(
  store: Store,
): Promise<StateDoc<GitAutoCommitConfig>> {
  const doc = await store.stateDocs.get<GitAutoCommitConfig>(GIT_AUTO_COMMIT_KEY);
  if (!doc) return { value: defaultGitAutoCommitConfig(), version: 0, updatedAt: 0 };
  return { ...doc, value: normalise(doc.value) };
}

/** A stored value made whole (a hand-edited or older row never breaks readers). */
function normalise(v: Partial<GitAutoCommitConfig> | undefined): GitAutoCommitConfig {
  const d = defaultGitAutoCommitConfig();
  return {
    enabled: typeof v?.enabled === "boolean" ? v.enabled : d.enabled,
    on_events: Array.isArray(v?.on_events)
      ? v.on_events.filter((e): e is string => typeof e === "string")
      : d.on_events,
  };
}

/** What {@link GitAutoCommit.handleEvent} did. */
export interface AutoCommitOutcome {
  committed: boolean;
  /** The new commit's hash, when committed. */
  commit?: string;
  /** Why not: "disabled", "event not selected", "no changes", or the error message. */
  reason?: string;
}

/** Options of {@link GitAutoCommit}. */
export interface GitAutoCommitOptions {
  store: Store;
  /** The workspace directory (absolute); created when missing. */
  workspaceDir: string;
  log: Logger;
  /** Told about each failed commit (an `error` event); must not throw. */
  onError?: (err: Error) => void;
  /** Limit of each git command in ms; default 30 000. */
  timeoutMs?: number;
  /** The git executable; default "git" (from PATH). */
  gitBinary?: string;
}

/** Payload fields named in the commit body when they are short strings. */
const SUMMARY_KEYS = ["session_id", "task_id", "bot_id", "client_id", "status"];

/** A failed git command, with a secret-free message. */
class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitError";
  }
}

/** Strips credentials from URLs (`scheme://user:pass@host` → `scheme://[redacted]@host`). */
function scrub(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, "$1[redacted]@");
}

/** Commits the workspace on selected events. */
export class GitAutoCommit {
  readonly #o: Required<Omit<GitAutoCommitOptions, "onError">> &
    Pick<GitAutoCommitOptions, "onError">;
  #chain: Promise<unknown> = Promise.resolve();
  #cached: { value: GitAutoCommitConfig; until: number } | undefined;

  constructor(opts: GitAutoCommitOptions) {
    this.#o = { timeoutMs: 30_000, gitBinary: "git", ...opts };
  }

  /** The settings `{enabled, on_events}`. */
  async get(): Promise<GitAutoCommitConfig> {
    const value = (await loadGitAutoCommitConfig(this.#o.store)).value;
    this.#cached = { value, until: Date.now() + 1000 };
    return value;
  }

  /**
   * Whether `name` would be committed on, from settings at most 1 s old (another
   * instance's change is seen within that); for callers on a hot path, before
   * {@link handleEvent}.
   */
  async wants(name: string): Promise<boolean> {
    const c =
      this.#cached && this.#cached.until > Date.now() ? this.#cached.value : await this.get();
    return c.enabled && c.on_events.includes(name);
  }

  /**
   * Changes the settings; omitted fields keep their value. Duplicate event names are
   * dropped. Safe with several processes (compare-and-set on the row version).
   * @returns the settings as stored
   * @throws OutboundInputError 422 when `enabled` is not a boolean, `on_events` is not an
   *   array, or it names an unknown event (the message lists the valid ones)
   */
  async set(input: { enabled?: boolean; on_events?: string[] }): Promise<GitAutoCommitConfig> {
    const i = (input ?? {}) as { enabled?: unknown; on_events?: unknown };
    if (i.enabled !== undefined && typeof i.enabled !== "boolean") {
      throw new OutboundInputError(422, "enabled must be true or false");
    }
    let events: string[] | undefined;
    if (i.on_events !== undefined) {
      if (!Array.isArray(i.on_events)) {
        throw new OutboundInputError(422, "on_events must be an array of event names");
      }
      const unknown = i.on_events.filter((e) => !(EVENT_NAMES as readonly unknown[]).includes(e));
      if (unknown.length) {
        throw new OutboundInputError(
          422,
          `Unknown event name(s): ${unknown.map(String).join(", ")}. Valid: ${EVENT_NAMES.join(", ")}`,
        );
      }
      events = [...new Set(i.on_events as string[])];
    }
    const enabled = i.enabled as boolean | undefined;
    this.#cached = undefined;
    const doc = await this.#o.store.stateDocs.update<GitAutoCommitConfig>(
      GIT_AUTO_COMMIT_KEY,
      (cur) => {
        const c = normalise(cur);
        return { enabled: enabled ?? c.enabled, on_events: events ?? c.on_events };
      },
    );
    this.#cached = { value: doc.value, until: Date.now() + 1000 };
    return doc.value;
  }

  /**
   * Commits the workspace if auto-commit is on and `name` is one of `on_events`. Waits for
   * commits queued before it. Never rejects: a failure is logged, passed to `onError`, and
   * returned as `{committed: false, reason}`.
   * @param payload the event's payload; short ids in it (session_id, task_id…) go into the
   *   commit body
   */
  async handleEvent(
    name: string,
    payload: Record<string, unknown> = {},
  ): Promise<AutoCommitOutcome> {
    let config: GitAutoCommitConfig;
    try {
      config = await this.get();
    } catch (err) {
      return this.#failed(name, new GitError(`settings unavailable: ${(err as Error).message}`));
    }
    if (!config.enabled) return { committed: false, reason: "disabled" };
    if (!config.on_events.includes(name)) return { committed: false, reason: "event not selected" };
    const run = this.#chain.then(() => this.#commit(name, payload));
    this.#chain = run.catch(() => {});
    try {
      return await run;
    } catch (err) {
      return this.#failed(name, err as Error);
    }
  }

  /** Resolves when every queued commit has finished (for shutdown). */
  async idle(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.#chain;
      await seen;
    } while (seen !== this.#chain);
  }

  #failed(name: string, err: Error): AutoCommitOutcome {
    const error = new GitError(`git auto-commit on ${name} failed: ${scrub(err.message)}`);
    this.#o.log.error({ event: name, err: error.message }, "git auto-commit failed");
    try {
      this.#o.onError?.(error);
    } catch {}
    return { committed: false, reason: error.message };
  }

  /** add -A, then commit when anything is staged. */
  async #commit(name: string, payload: Record<string, unknown>): Promise<AutoCommitOutcome> {
    const dir = this.#o.workspaceDir;
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, ".git"))) await this.#git(["init", "-q"]);
    await this.#ensureIdentity();
    await this.#git(["add", "-A"]);
    const status = await this.#git(["status", "--porcelain"]);
    const lines = status.split("\n").filter((l) => l.trim());
    if (lines.length === 0) return { committed: false, reason: "no changes" };
    const counts = { added: 0, modified: 0, deleted: 0, renamed: 0 };
    for (const l of lines) {
      const x = l[0];
      if (x === "A") counts.added++;
      else if (x === "D") counts.deleted++;
      else if (x === "R") counts.renamed++;
      else counts.modified++;
    }
    const summary = Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
    const files = `${lines.length} file${lines.length === 1 ? "" : "s"}`;
    const body = [`Auto-commit on ${name}: ${summary}.`];
    for (const k of SUMMARY_KEYS) {
      const v = payload[k];
      if (typeof v === "string" && v.length > 0 && v.length <= 200 && !/[\r\n]/.test(v)) {
        body.push(`${k}: ${v}`);
      }
    }
    await this.#git([
      "commit",
      "-q",
      "-m",
      `switchyard: ${name} (${files})`,
      "-m",
      body.join("\n"),
    ]);
    const commit = (await this.#git(["rev-parse", "HEAD"])).trim();
    this.#o.log.info({ event: name, commit, files: lines.length }, "git auto-commit");
    return { committed: true, commit };
  }

  /** Sets a local identity when git has none (repository, global or system). */
  async #ensureIdentity(): Promise<void> {
    for (const [key, value] of [
      ["user.name", "switchyard"],
      ["user.email", "switchyard@localhost"],
    ]) {
      const has = await this.#git(["config", "--get", key]).then(
        (v) => v.trim() !== "",
        () => false,
      );
      if (!has) await this.#git(["config", key, value!]);
    }
  }

  /**
   * Runs `git args` in the workspace, without a shell, within the time limit.
   * @returns stdout
   * @throws GitError "git <cmd> exited with code N: <first stderr line>" or "timed out"
   */
  #git(args: string[]): Promise<string> {
    const { gitBinary, timeoutMs, workspaceDir } = this.#o;
    return new Promise((resolve, reject) => {
      execFile(
        gitBinary,
        args,
        {
          cwd: workspaceDir,
          timeout: timeoutMs,
          killSignal: "SIGKILL",
          maxBuffer: 4 * 1024 * 1024,
          env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
        },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          const cmd = `git ${args[0]}`;
          if (e.killed) return reject(new GitError(`${cmd} timed out after ${timeoutMs} ms`));
          if (typeof e.code === "string") return reject(new GitError(`${cmd}: ${e.code}`));
          const line = String(stderr).trim().split("\n", 1)[0]!.slice(0, 300);
          reject(new GitError(`${cmd} exited with code ${e.code}${line ? `: ${line}` : ""}`));
        },
      );
    });
  }
}
