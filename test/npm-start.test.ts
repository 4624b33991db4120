/**
 * Signals reach the server however it is started: a process manager's SIGTERM to the pid
 * of `npm start` (or `npx node src/main.ts serve`) stops the server, which prints
 * "switchyard: stopped", instead of ending npm and `sh` and orphaning a server that keeps
 * answering. npm is run with the pinned Node first on PATH, as a user's `npm start` is.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { tempDir } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import { testServerEnv } from "./support/serve-process.ts";

const ROOT = join(import.meta.dirname, "..");

/** A command started in its own process group, so that an orphaned server is killed too. */
interface Started {
  proc: ChildProcess;
  url: string;
  output(): string;
  /** Resolves once every process holding its stdout (npm, sh, the server) has closed it. */
  outputClosed: Promise<void>;
  /** SIGKILLs the whole process group (cleanup; orphans included). */
  killGroup(): void;
}

function startUnderNpm(args: string[], env: Record<string, string>): Promise<Started> {
  const proc = spawn("npm", args, {
    cwd: ROOT,
    env: {
      ...env,
      PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
      HOME: env.SWITCHYARD_DATA_DIR!,
      npm_config_update_notifier: "false",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  proc.stdout!.on("data", (d) => {
    out += d;
  });
  proc.stderr!.on("data", (d) => {
    out += d;
  });
  const outputClosed = new Promise<void>((resolve) => proc.stdout!.once("close", resolve));
  const killGroup = () => {
    try {
      process.kill(-proc.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup();
      reject(new Error(`did not listen within 60 s:\n${out}`));
    }, 60_000);
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout!.off("data", onData);
      resolve({ proc, url: m[1]!, output: () => out, outputClosed, killGroup });
    };
    proc.stdout!.on("data", onData);
    outputClosed.then(() => {
      clearTimeout(timer);
      reject(new Error(`exited before listening:\n${out}`));
    });
  });
}

/** Resolves once nothing answers at `url` any more (connection refused). */
async function stopsAnswering(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} still answers ${timeoutMs} ms after SIGTERM`);
}

describe("SIGTERM to npm reaches the server", () => {
  let llm: FakeLlm;
  const dirs: Array<{ path: string; remove(): void }> = [];
  before(async () => {
    llm = await startFakeLlm();
  });
  after(async () => {
    await llm.close();
    for (const d of dirs) d.remove();
  });

  const envFor = () => {
    const dir = tempDir();
    dirs.push(dir);
    return {
      ...testServerEnv({
        dataDir: dir.path,
        databaseUrl: `sqlite:${dir.path}/npm.db`,
        llmBaseUrl: llm.baseUrl,
        apiKey: "npm-start-key-0123456789",
      }),
      SWITCHYARD_LOG_LEVEL: "warn",
      SWITCHYARD_SHUTDOWN_GRACE_SECONDS: "1",
    };
  };

  for (const args of [["start"], ["exec", "--", "node", "src/main.ts", "serve"]]) {
    test(`npm ${args.join(" ")}: SIGTERM to npm's pid stops the server, which says "stopped"`, async () => {
      const s = await startUnderNpm(args, envFor());
      try {
        process.kill(s.proc.pid!, "SIGTERM");
        await stopsAnswering(s.url, 20_000);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          s.outputClosed,
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`a process still holds the output:\n${s.output()}`)),
              20_000,
            );
          }),
        ]).finally(() => clearTimeout(timer));
        assert.match(s.output(), /switchyard: stopped\n/);
      } finally {
        s.killGroup();
      }
    });
  }
});
