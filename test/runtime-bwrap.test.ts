/**
 * The `bubblewrap` runtime end to end: the fake LLM calls `bash` and the file tools on a
 * server with `SWITCHYARD_RUNTIME=bubblewrap`. Shows no network (a connect to a 127.0.0.1
 * listener the test opens fails and the listener sees nothing; with `network: true` it
 * connects), no view of the data dir or of other scopes, no writes outside the scope, a
 * private /tmp, and the timeout ending every process of the sandbox. Skipped with the
 * reason when bwrap cannot start a sandbox here; fails instead under
 * `SWITCHYARD_TEST_REQUIRE_BWRAP=1` (CI).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { scopeRoot } from "../src/runtime/scope.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { withBwrap } from "./support/bwrap.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { runTool, runTools } from "./support/runtime-tools.ts";

const TOOLS = ["bash", "read_file", "write_file", "list_files"];

/** Host processes whose command line contains `token` and that still run (zombies excluded). */
function runningWith(token: string): number[] {
  const found: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").replaceAll("\0", " ");
      if (!cmd.includes(token)) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${d}/status`, "utf8"))) continue;
      found.push(Number(d));
    } catch {}
  }
  return found;
}

for (const backend of ALL_BACKENDS) {
  describe(`workspace runtime (bubblewrap) on ${backend}`, withBwrap(runsOn(backend)), () => {
    let t: TestApp;
    const dataDir = mkdtempSync(join("/var/tmp", "switchyard-bwrap-test-"));
    let listener: Server;
    let port = 0;
    let connections = 0;
    let onConnection: (() => void) | undefined;
    const setRuntime = async (runtime: Record<string, unknown>) => {
      const r = await t.api("PUT", "/api/v1/admin/bots/default", { tools: TOOLS, runtime });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };

    before(async () => {
      // The data dir outside /tmp: the sandbox's private /tmp must not be what hides it.
      t = await startTestApp({
        backend,
        env: { SWITCHYARD_RUNTIME: "bubblewrap", SWITCHYARD_DATA_DIR: dataDir },
      });
      listener = createServer((socket) => {
        connections++;
        socket.destroy();
        onConnection?.();
      });
      await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
      port = (listener.address() as { port: number }).port;
      await setRuntime({});
    });
    after(async () => {
      await new Promise((r) => listener?.close(r));
      await t?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test("the server says it runs bubblewrap", () => {
      assert.match(t.app.runtime.describe(), /^bubblewrap \(/);
    });

    test("no network: a connect to a 127.0.0.1 listener fails and the listener sees none; network: true connects", async () => {
      const sid = await t.session(`bw-net-${backend}`);
      const command = `if echo hi > /dev/tcp/127.0.0.1/${port}; then echo CONNECTED; else echo REFUSED; fi`;
      const cut = await runTool(t, sid, "bash", { command });
      assert.equal(cut.result.stdout.trim(), "REFUSED", JSON.stringify(cut));
      // The attempt is over (the command exited): a connection that reached us would be counted.
      assert.equal(connections, 0, "the listener saw a connection from the sandbox");

      // Positive control: the same command with the network allowed reaches the listener.
      await setRuntime({ network: true });
      const seen = new Promise<void>((r) => {
        onConnection = r;
      });
      const open = await runTool(t, sid, "bash", { command });
      assert.equal(open.result.stdout.trim(), "CONNECTED", JSON.stringify(open));
      await seen;
      assert.equal(connections, 1);
      await setRuntime({});
    });

    test("the data dir and other scopes are not visible; the command sees only its own scope", async () => {
      const { dataDir, workspaceDir } = t.app.config;
      const db = join(dataDir, "data-secret.txt");
      writeFileSync(db, "SQLite format 3");
      const a = await t.session(`bw-a-${backend}`);
      const b = await t.session(`bw-b-${backend}`);
      await runTool(t, a, "write_file", { path: "secret.txt", content: "alpha" });
      const aFile = join(scopeRoot(workspaceDir, { kind: "session", id: a }), "secret.txt");
      assert.ok(existsSync(aFile), "a's file exists on the host");
      const r = await runTool(t, b, "bash", {
        command: `cat ${aFile}; ls ${join(workspaceDir, "scopes", "session")}; ls -A ${dataDir}; head -c 16 ${db}; echo END`,
      });
      assert.equal(r.status, "ok");
      assert.doesNotMatch(r.result.stdout, /alpha|SQLite/);
      // Only b's own folder is there on the path to it.
      assert.equal(
        r.result.stdout,
        `${b}\nworkspace\nEND\n`,
        `stdout: ${r.result.stdout}\nstderr: ${r.result.stderr}`,
      );
      assert.match(r.result.stderr, /secret\.txt: No such file/);
      assert.match(r.result.stderr, /data-secret\.txt.*No such file/);
    });

    test("nothing outside the scope is writable; /tmp is private", async () => {
      const sid = await t.session(`bw-write-${backend}`);
      const { dataDir, workspaceDir } = t.app.config;
      const marker = `switchyard-bwrap-marker-${process.pid}-${Date.now()}`;
      const [sh, rd] = await runTools(t, sid, [
        {
          name: "bash",
          args: {
            command: [
              "for f in /usr/pwned /etc/pwned /pwned " +
                `${join(dataDir, "pwned")} ${join(workspaceDir, "pwned")}; do`,
              '  if touch "$f" 2>/dev/null; then echo "WROTE $f"; fi',
              "done",
              `echo inside > /tmp/${marker} && cat /tmp/${marker}`,
              "echo mine > mine.txt && echo OK",
            ].join("\n"),
          },
        },
        { name: "read_file", args: { path: "mine.txt" } },
      ]);
      assert.equal(sh!.result.stdout, "inside\nOK\n", JSON.stringify(sh));
      assert.equal(rd!.result.content, "mine\n", "the scope folder is writable");
      assert.ok(!existsSync(join("/tmp", marker)), "the sandbox's /tmp is the host's");
      for (const p of [
        "/usr/pwned",
        "/etc/pwned",
        "/pwned",
        join(dataDir, "pwned"),
        join(workspaceDir, "pwned"),
      ]) {
        assert.ok(!existsSync(p), `${p} was written`);
      }
    });

    test("the timeout ends every process of the sandbox, also ones that ignore SIGTERM", async () => {
      await setRuntime({ timeout_s: 1 });
      const sid = await t.session(`bw-timeout-${backend}`);
      const token = String(100_000 + Math.floor(Math.random() * 800_000));
      const r = await runTool(t, sid, "bash", {
        command: `trap '' TERM; ( trap '' TERM; sleep ${token} & wait ) & sleep ${token}; wait`,
      });
      assert.equal(r.result.timed_out, true, JSON.stringify(r));
      assert.equal(r.result.exit_code, null);
      assert.deepEqual(runningWith(`sleep ${token}`), []);
      await setRuntime({});
    });
  });
}
