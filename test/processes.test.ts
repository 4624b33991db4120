/**
 * The process supervisor with real child processes (`process.execPath -e <script>`):
 * start, output logging, environment, backoff restarts, SIGTERM/SIGKILL, restart, stopAll,
 * and no timer keeping the server alive after stopAll.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import pino from "pino";
import {
  type ProcessStatus,
  ProcessSupervisor,
  type SupervisorOptions,
} from "../src/integrations/processes.ts";
import type { ProcessDefinition } from "../src/sdk/index.ts";

const ROOT = join(import.meta.dirname, "..");
const CWD = tmpdir();

interface LogLine {
  level: number;
  msg: string;
  integration?: string;
  stream?: string;
  delayMs?: number;
  [k: string]: unknown;
}

const supervisors: ProcessSupervisor[] = [];

afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stopAll()));
});

function makeSupervisor(opts: Partial<SupervisorOptions> = {}): {
  sup: ProcessSupervisor;
  lines: LogLine[];
} {
  const lines: LogLine[] = [];
  const log = pino(
    { level: "debug" },
    {
      write(s: string) {
        lines.push(JSON.parse(s) as LogLine);
      },
    },
  );
  const sup = new ProcessSupervisor({
    log,
    initialBackoffMs: 50,
    maxBackoffMs: 200,
    stopTimeoutMs: 2000,
    jitter: 0,
    ...opts,
  });
  supervisors.push(sup);
  return { sup, lines };
}

/** A process definition running `script` with this Node. */
function node(script: string, requiredEnv?: string[]): ProcessDefinition {
  return { description: "test process", command: [process.execPath, "-e", script], requiredEnv };
}

const STAY_UP = "setInterval(() => {}, 1000);";

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function one(sup: ProcessSupervisor, name: string): ProcessStatus {
  const [s] = sup.status(name);
  assert.ok(s, `no status for ${name}`);
  return s;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function outputLine(lines: LogLine[], integration: string, text: string) {
  return lines.find((l) => l.integration === integration && l.stream && l.msg === text);
}

describe("ProcessSupervisor", () => {
  test("a process that stays up is running and its output is logged with its name", async () => {
    const { sup, lines } = makeSupervisor();
    await sup.add(
      "echo",
      node(`console.log("hello from child"); console.error("a warning"); ${STAY_UP}`),
      {},
      CWD,
    );
    const s = one(sup, "echo");
    assert.equal(s.state, "running");
    assert.equal(typeof s.pid, "number");
    assert.ok(alive(s.pid!));
    assert.equal(s.restarts, 0);
    assert.equal(s.description, "test process");
    assert.deepEqual(s.missingEnv, []);
    assert.ok(s.startedAt && !Number.isNaN(Date.parse(s.startedAt)));
    const out = await waitFor("stdout line", () => outputLine(lines, "echo", "hello from child"));
    assert.equal(out.stream, "stdout");
    const err = await waitFor("stderr line", () => outputLine(lines, "echo", "a warning"));
    assert.equal(err.stream, "stderr");
    assert.deepEqual(
      sup.status().map((x) => x.integration),
      ["echo"],
    );
    assert.deepEqual(sup.status("nope"), []);
  });

  test("a process that exits at once is restarted with doubling backoff, capped", async () => {
    const { sup, lines } = makeSupervisor();
    await sup.add("crashy", node("process.exit(1)"), {}, CWD);
    const s = await waitFor("backoff state", () => {
      const st = one(sup, "crashy");
      return st.state === "backoff" && st;
    });
    assert.equal(s.lastExitCode, 1);
    assert.equal(s.pid, null);
    assert.ok(s.nextRestartAt && Date.parse(s.nextRestartAt) >= Date.now() - 100);
    const backoffs = () =>
      lines.filter((l) => l.integration === "crashy" && l.delayMs !== undefined);
    await waitFor("5 exits", () => backoffs().length >= 5, 5000);
    assert.ok(one(sup, "crashy").restarts >= 4);
    const delays = backoffs();
    assert.deepEqual(
      delays.slice(0, 5).map((l) => l.delayMs),
      [50, 100, 200, 200, 200],
    );
  });

  test("a run longer than stableAfterMs resets the backoff", async () => {
    const { sup, lines } = makeSupervisor({ stableAfterMs: 150 });
    await sup.add("slowcrash", node("setTimeout(() => process.exit(3), 200)"), {}, CWD);
    await waitFor("2 restarts", () => one(sup, "slowcrash").restarts >= 2, 5000);
    const delays = lines
      .filter((l) => l.integration === "slowcrash" && l.delayMs !== undefined)
      .map((l) => l.delayMs);
    assert.ok(delays.length >= 2);
    for (const d of delays) assert.equal(d, 50);
    assert.equal(one(sup, "slowcrash").lastExitCode, 3);
  });

  test("a missing program (ENOENT) counts as an exit and is reported", async () => {
    const { sup } = makeSupervisor();
    await sup.add(
      "ghost",
      { description: "missing", command: ["/nonexistent/switchyard-no-such-program"] },
      {},
      CWD,
    );
    const s = one(sup, "ghost");
    assert.equal(s.state, "backoff");
    assert.equal(s.pid, null);
    assert.match(s.lastError ?? "", /ENOENT/);
    await waitFor("a restart", () => one(sup, "ghost").restarts >= 2);
  });

  test("an empty command fails without being spawned", async () => {
    const { sup } = makeSupervisor();
    await sup.add("empty", { description: "empty", command: [] }, {}, CWD);
    const s = one(sup, "empty");
    assert.equal(s.state, "failed");
    assert.equal(s.lastError, "empty command");
  });

  test("missing requiredEnv → not_configured, never spawned; start throws naming the keys", async () => {
    const { sup, lines } = makeSupervisor();
    await sup.add("needs", node(STAY_UP, ["TOKEN", "OTHER", "SET"]), { OTHER: "", SET: "x" }, CWD);
    const s = one(sup, "needs");
    assert.equal(s.state, "not_configured");
    assert.equal(s.pid, null);
    assert.deepEqual(s.missingEnv, ["TOKEN", "OTHER"]);
    await assert.rejects(sup.start("needs"), /not configured: missing TOKEN, OTHER/);
    await assert.rejects(sup.restart("needs"), /TOKEN/);
    assert.ok(!lines.some((l) => l.msg === "integration process started"));
    // stop leaves it as it is
    assert.equal((await sup.stop("needs")).state, "not_configured");
    // configured by a second add with the settings set
    await sup.add("needs", node(STAY_UP, ["TOKEN"]), { TOKEN: "t" }, CWD);
    assert.equal(one(sup, "needs").state, "running");
  });

  test("unknown integration → start/stop/restart throw", async () => {
    const { sup } = makeSupervisor();
    await assert.rejects(sup.start("nope"), /"nope" has no process/);
    await assert.rejects(sup.stop("nope"), /has no process/);
    await assert.rejects(sup.restart("nope"), /has no process/);
  });

  test("settings reach the child's environment and are not logged by the supervisor", async () => {
    const { sup, lines } = makeSupervisor();
    const secret = "s3cr3t-value-42";
    await sup.add(
      "envy",
      node(
        `console.log("X=" + process.env.SY_TEST_X + " U=" + ("SY_TEST_U" in process.env) + " P=" + (process.env.PATH !== undefined)); ${STAY_UP}`,
        ["SY_TEST_X"],
      ),
      { SY_TEST_X: secret, SY_TEST_U: undefined },
      CWD,
    );
    await waitFor("env line", () => outputLine(lines, "envy", `X=${secret} U=false P=true`));
    const leaks = lines.filter((l) => JSON.stringify(l).includes(secret) && !l.stream);
    assert.deepEqual(leaks, []);
  });

  test("a child gets only its own settings and a minimal base, none of the server's other variables", async () => {
    const { sup, lines } = makeSupervisor();
    process.env.SY_TEST_SERVER_ONLY = "server-only-secret";
    const hadKey = process.env.SWITCHYARD_SECRET_KEY;
    process.env.SWITCHYARD_SECRET_KEY = "at-rest-key-not-for-children";
    try {
      await sup.add(
        "scrubbed",
        node(
          `console.log("S=" + ("SY_TEST_SERVER_ONLY" in process.env) + " K=" + ("SWITCHYARD_SECRET_KEY" in process.env) + " OWN=" + process.env.SY_TEST_OWN + " PATH=" + (process.env.PATH !== undefined) + " HOME=" + (process.env.HOME !== undefined)); ${STAY_UP}`,
        ),
        { SY_TEST_OWN: "mine" },
        CWD,
      );
      await waitFor("env line", () =>
        outputLine(lines, "scrubbed", "S=false K=false OWN=mine PATH=true HOME=true"),
      );
    } finally {
      delete process.env.SY_TEST_SERVER_ONLY;
      if (hadKey === undefined) delete process.env.SWITCHYARD_SECRET_KEY;
      else process.env.SWITCHYARD_SECRET_KEY = hadKey;
    }
  });

  test("stop sends SIGTERM, which the child honours; no restart follows", async () => {
    const { sup, lines } = makeSupervisor({ stopTimeoutMs: 3000 });
    await sup.add(
      "polite",
      node(
        `process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(0); }); console.log("ready"); ${STAY_UP}`,
      ),
      {},
      CWD,
    );
    await waitFor("ready", () => outputLine(lines, "polite", "ready"));
    const pid = one(sup, "polite").pid!;
    const t0 = Date.now();
    const s = await sup.stop("polite");
    assert.ok(Date.now() - t0 < 1500, "stopped well before the SIGKILL timeout");
    assert.equal(s.state, "stopped");
    assert.equal(s.pid, null);
    assert.equal(s.lastExitCode, 0);
    assert.equal(s.lastExitSignal, null);
    assert.ok(!alive(pid));
    await waitFor("goodbye line", () => outputLine(lines, "polite", "got SIGTERM"));
    // A stop schedules no restart: a restart is only ever started by a scheduled timer,
    // which shows as nextRestartAt.
    assert.equal(one(sup, "polite").nextRestartAt, null);
    assert.equal(one(sup, "polite").state, "stopped");
    assert.equal(one(sup, "polite").restarts, 0);
    // a default child dies of the signal itself
    await sup.start("polite");
    await sup.add("plain", node(STAY_UP), {}, CWD);
    const plain = await sup.stop("plain");
    assert.equal(plain.lastExitSignal, "SIGTERM");
    assert.equal(plain.state, "stopped");
    // start again after a stop
    const again = await sup.start("plain");
    assert.equal(again.state, "running");
    assert.ok(alive(again.pid!));
  });

  test("a child ignoring SIGTERM is SIGKILLed after stopTimeoutMs", async () => {
    const { sup, lines } = makeSupervisor({ stopTimeoutMs: 300 });
    await sup.add(
      "stubborn",
      node(`process.on("SIGTERM", () => {}); console.log("ready"); ${STAY_UP}`),
      {},
      CWD,
    );
    await waitFor("ready", () => outputLine(lines, "stubborn", "ready"));
    const pid = one(sup, "stubborn").pid!;
    const t0 = Date.now();
    const s = await sup.stop("stubborn");
    const took = Date.now() - t0;
    assert.ok(took >= 280 && took < 2000, `took ${took} ms`);
    assert.equal(s.state, "stopped");
    assert.equal(s.lastExitSignal, "SIGKILL");
    assert.ok(!alive(pid));
  });

  test("restart gives a new pid; the old child is gone", async () => {
    const { sup } = makeSupervisor();
    await sup.add("again", node(STAY_UP), {}, CWD);
    const before = one(sup, "again").pid!;
    const s = await sup.restart("again");
    assert.equal(s.state, "running");
    assert.equal(typeof s.pid, "number");
    assert.notEqual(s.pid, before);
    assert.ok(!alive(before));
    assert.ok(alive(s.pid!));
    assert.equal(s.restarts, 0, "manual restarts are not counted");
    // concurrent operations are serialized
    const [a, b] = await Promise.all([sup.restart("again"), sup.restart("again")]);
    assert.notEqual(a.pid, b.pid);
    assert.ok(!alive(a.pid!));
    assert.equal(one(sup, "again").pid, b.pid);
  });

  test("add replaces a registered process and stops the old child", async () => {
    const { sup, lines } = makeSupervisor();
    await sup.add("swap", node(`console.log("v1"); ${STAY_UP}`), {}, CWD);
    const old = one(sup, "swap").pid!;
    await sup.add("swap", node(`console.log("v2"); ${STAY_UP}`), {}, CWD);
    assert.ok(!alive(old));
    const s = one(sup, "swap");
    assert.equal(s.state, "running");
    assert.notEqual(s.pid, old);
    await waitFor("v2", () => outputLine(lines, "swap", "v2"));
    assert.equal(sup.status().length, 1);
  });

  test("stopAll leaves no child running and cancels pending restarts", async () => {
    const { sup, lines } = makeSupervisor({ stopTimeoutMs: 300, initialBackoffMs: 100 });
    await sup.add("a", node(STAY_UP), {}, CWD);
    await sup.add(
      "b",
      node(`process.on("SIGTERM", () => {}); console.log("ready"); ${STAY_UP}`),
      {},
      CWD,
    );
    await sup.add("c", node("process.exit(2)"), {}, CWD);
    await waitFor("b ready", () => outputLine(lines, "b", "ready"));
    await waitFor("c in backoff", () => one(sup, "c").state === "backoff");
    const pids = sup
      .status()
      .map((s) => s.pid)
      .filter((p): p is number => p !== null);
    assert.equal(pids.length, 2);
    const t0 = Date.now();
    await sup.stopAll();
    assert.ok(Date.now() - t0 < 2000);
    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} still alive`);
    for (const s of sup.status()) {
      assert.equal(s.state, "stopped", s.integration);
      assert.equal(s.pid, null);
      assert.equal(s.nextRestartAt, null);
    }
  });

  test("no timer keeps the server alive after stopAll", async () => {
    // A separate Node process: supervises a running child and one in a 5 s backoff, calls
    // stopAll, and must then exit on its own.
    const script = `
      import pino from "pino";
      import { ProcessSupervisor } from "./src/integrations/processes.ts";
      const sup = new ProcessSupervisor({ log: pino({ level: "silent" }), initialBackoffMs: 5000, stopTimeoutMs: 300 });
      const node = (s) => ({ description: "t", command: [process.execPath, "-e", s] });
      await sup.add("up", node("setInterval(() => {}, 1000)"), {}, process.cwd());
      await sup.add("down", node("process.exit(1)"), {}, process.cwd());
      while (sup.status("down")[0].state !== "backoff") await new Promise((r) => setTimeout(r, 10));
      const pid = sup.status("up")[0].pid;
      await sup.stopAll();
      console.log("stopped " + pid);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    const t0 = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
      }, 4000);
      child.once("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, `exit ${code} after ${Date.now() - t0} ms; stderr: ${err}`);
    const m = /stopped (\d+)/.exec(out);
    assert.ok(m, out);
    assert.ok(!alive(Number(m[1])));
  });
});
