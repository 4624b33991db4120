/**
 * Workspace runtime benchmark (issue 13): the `bash` tool's round trip — the core tool's
 * `execute` as the agent loop calls it: bot and scope looked up, scope folder ensured,
 * path checks, the provider's spawn (own process group, scrubbed env, output capture),
 * the result shaped for the model — on the `host` and `bubblewrap` providers, for `true`
 * and for a command printing 1 MB, side by side with a bare `child_process.spawn` of the
 * same command line in the same run.
 *
 * Setup: an in-process app (`startTestApp`, SQLite) with the default bot's tools set to
 * `bash` and `runtime.max_output_bytes` 2 MB (so the 1 MB is kept whole); the calls are
 * made one after another (no concurrency) after a few warm-up calls. bubblewrap is skipped,
 * with the reason, when bwrap cannot start a sandbox here.
 *
 * Figures: p50/p99/mean per (provider, command) and the overhead over bare spawn.
 * Options: --n=200 (calls per row) --warmup=10
 */
import { spawn, spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { probeBwrap } from "../src/runtime/bubblewrap.ts";
import { SHELL } from "../src/runtime/spawn.ts";
import { startTestApp, type TestApp } from "../test/support/app.ts";
import { option } from "./support/args.ts";
import { percentile } from "./support/stats.ts";

export const description =
  "bash tool round trip p50/p99 on host and bubblewrap (true, 1 MB output) vs bare child_process.spawn";

const COMMANDS: Record<string, string> = {
  true: "true",
  "1MB": "head -c 1048576 /dev/zero | tr '\\0' a",
};

/** A bare spawn of the shell with the command; resolves when its output is read. */
function bareSpawn(command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(SHELL, ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
    let bytes = 0;
    child.stdout.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    child.stderr.resume();
    child.once("error", reject);
    child.once("close", () => resolve(bytes));
  });
}

async function sample(n: number, warmup: number, once: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b);
}

const fmt = (v: number) => v.toFixed(2).padStart(8);

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const n = Number(option(args, "n") ?? 200);
  const warmup = Number(option(args, "warmup") ?? 10);
  const probe = probeBwrap();
  const bwrapVersion = probe.ok
    ? spawnSync(probe.path!, ["--version"], { encoding: "utf8" }).stdout.trim()
    : `unavailable: ${probe.reason}`;
  console.log(
    `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}; shell ${SHELL}; bwrap: ${bwrapVersion}`,
  );
  console.log(`${n} sequential calls per row after ${warmup} warm-up calls; times in ms`);

  const t: TestApp = await startTestApp({ env: { SWITCHYARD_RUNTIME: "host" } });
  try {
    const put = await t.api("PUT", "/api/v1/admin/bots/default", {
      tools: ["bash"],
      runtime: { max_output_bytes: 2 * 1024 * 1024, timeout_s: 60 },
    });
    if (put.status !== 200) throw new Error(`bot update failed: ${JSON.stringify(put.body)}`);
    const sid = await t.session("bench-runtime");
    const bash = t.app.tools.get("bash")!;
    const ctl = new AbortController();
    const ctx = {
      taskId: "bench",
      sessionId: sid,
      botId: "default",
      signal: ctl.signal,
      log: t.app.log,
    };
    const providers = probe.ok ? ["host", "bubblewrap"] : ["host"];
    console.log(
      `${"row".padEnd(22)}${"p50".padStart(8)}${"p99".padStart(8)}${"mean".padStart(8)}  vs bare p50`,
    );
    for (const [label, command] of Object.entries(COMMANDS)) {
      const bare = await sample(n, warmup, () => bareSpawn(command));
      const bareP50 = percentile(bare, 50);
      const line = (name: string, ms: number[]) => {
        const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
        const p50 = percentile(ms, 50);
        const over = name.startsWith("bare")
          ? ""
          : `  ${p50 >= bareP50 ? "+" : ""}${(p50 - bareP50).toFixed(2)} ms`;
        console.log(`${name.padEnd(22)}${fmt(p50)}${fmt(percentile(ms, 99))}${fmt(mean)}${over}`);
      };
      line(`bare spawn ${label}`, bare);
      for (const provider of providers) {
        const r = await t.api("PUT", "/api/v1/admin/bots/default", {
          runtime: { provider, max_output_bytes: 2 * 1024 * 1024, timeout_s: 60 },
        });
        if (r.status !== 200) throw new Error(`bot update failed: ${JSON.stringify(r.body)}`);
        const ms = await sample(n, warmup, async () => {
          const out = (await bash.execute({ command }, ctx)) as {
            exit_code: number;
            stdout: string;
          };
          if (out.exit_code !== 0)
            throw new Error(`bash failed on ${provider}: ${JSON.stringify(out)}`);
          if (label === "1MB" && out.stdout.length !== 1_048_576) {
            throw new Error(`expected 1 MB of output, got ${out.stdout.length} bytes`);
          }
        });
        line(`${provider} ${label}`, ms);
      }
    }
    if (!probe.ok) console.log(`bubblewrap skipped: ${probe.reason}`);
  } finally {
    await t.close();
  }
}
