/**
 * The workspace runtime on the `host` provider, end to end over real HTTP: the fake LLM
 * calls the core workspace tools (`bash`, `read_file`, `write_file`, `edit_file`,
 * `list_files`) and the results are read back from the task's tool calls. Shows scope
 * isolation, path confinement (`..`, absolute paths, symlinks planted by `bash`), the
 * scrubbed environment, the timeout killing a SIGTERM-ignoring child and its grandchild,
 * cancel killing the command, output caps, the bot's `runtime` settings in the admin API,
 * and `SWITCHYARD_RUNTIME=none`. Runs on SQLite, and on PostgreSQL when configured.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { scopeRoot } from "../src/runtime/scope.ts";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import {
  processGone,
  runTool,
  runTools,
  startToolTurn,
  toolOutcomes,
} from "./support/runtime-tools.ts";

const CANARY = `canary-${process.pid}-${Date.now()}`;

/** Waits for `check` to hold, polling a file system fact (no fixed sleep). */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const backend of ALL_BACKENDS) {
  describe(`workspace runtime (host) on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    const setRuntime = async (
      runtime: Record<string, unknown> | null,
      tools = ["bash", "read_file", "write_file", "edit_file", "list_files"],
    ) => {
      const r = await t.api("PUT", "/api/v1/admin/bots/default", { tools, runtime });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    const scopeOf = (sid: string) =>
      scopeRoot(t.app.config.workspaceDir, { kind: "session", id: sid });

    before(async () => {
      // A secret in the server's own environment: no command may see it.
      process.env.SWITCHYARD_RUNTIME_TEST_CANARY = CANARY;
      t = await startTestApp({ backend, env: { SWITCHYARD_RUNTIME: "host" } });
    });
    after(async () => {
      delete process.env.SWITCHYARD_RUNTIME_TEST_CANARY;
      await t?.close();
    });

    test("a bot's runtime settings: defaults, validation (400), round trip", async () => {
      const def = await t.api("GET", "/api/v1/admin/bots/default");
      assert.deepEqual(def.body.runtime, {
        provider: "default",
        scope: "session",
        network: false,
        timeout_s: 120,
        max_output_bytes: 65536,
      });
      for (const [runtime, want] of [
        [{ timeout_s: 0 }, /runtime\.timeout_s/],
        [{ scope: "planet" }, /runtime\.scope/],
        [{ network: "yes" }, /runtime\.network/],
        [{ max_output_bytes: 10 }, /runtime\.max_output_bytes/],
        [{ colour: "red" }, /colour/],
        [{ provider: "nope" }, /unknown provider "nope" \(known: default, host, bubblewrap/],
      ] as const) {
        const r = await t.api("PUT", "/api/v1/admin/bots/default", { runtime });
        assert.equal(r.status, 400, JSON.stringify(runtime));
        assert.match(JSON.stringify(r.body).replaceAll('\\"', '"'), want);
      }
      const set = await setRuntime({ scope: "bot", timeout_s: 30 });
      assert.deepEqual(set.runtime, { ...def.body.runtime, scope: "bot", timeout_s: 30 });
      const reset = await setRuntime(null);
      assert.deepEqual(reset.runtime, def.body.runtime);
      const created = await t.api("POST", "/api/v1/admin/bots", {
        id: "rt-bot",
        runtime: { provider: "host" },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.runtime.provider, "host");
    });

    test("scope isolation: one session's file is invisible to another's bash, read_file, list_files", async () => {
      await setRuntime({});
      const a = await t.session(`rt-a-${backend}`);
      const b = await t.session(`rt-b-${backend}`);
      const [w, own] = await runTools(t, a, [
        { name: "write_file", args: { path: "notes/secret.txt", content: "alpha" } },
        { name: "read_file", args: { path: "notes/secret.txt" } },
      ]);
      assert.equal(w!.status, "ok", JSON.stringify(w));
      assert.equal(own!.result.content, "alpha", "the writer reads its own file");
      assert.ok(
        existsSync(join(scopeOf(a), "notes/secret.txt")),
        "written in <workspace>/scopes/session/<id>",
      );

      const [sh, rd, ls] = await runTools(t, b, [
        { name: "bash", args: { command: "cat notes/secret.txt; ls -A" } },
        { name: "read_file", args: { path: "notes/secret.txt" } },
        { name: "list_files", args: { recursive: true } },
      ]);
      assert.match(sh!.result.stderr, /No such file/);
      assert.doesNotMatch(sh!.result.stdout, /alpha|notes/);
      assert.equal(rd!.status, "error");
      assert.match(rd!.result.error, /No file notes\/secret\.txt/);
      assert.deepEqual(ls!.result.entries, []);

      // Positive control: with one scope per bot, the second session does see it.
      await setRuntime({ scope: "bot" });
      await runTool(t, a, "write_file", { path: "shared.txt", content: "beta" });
      const seen = await runTool(t, b, "bash", { command: "cat shared.txt" });
      assert.equal(seen.result.stdout, "beta");
      await setRuntime({});
    });

    test("channel scope: a conversation's generations share a folder, another client does not", async () => {
      await setRuntime({ scope: "channel" });
      const first = await t.session(`room-${backend}`);
      const second = await t.session(`room-${backend}#2`);
      const other = await t.session(`hall-${backend}`);
      await runTool(t, first, "write_file", { path: "minutes.txt", content: "gamma" });
      assert.equal(
        (await runTool(t, second, "read_file", { path: "minutes.txt" })).result.content,
        "gamma",
      );
      assert.equal((await runTool(t, other, "read_file", { path: "minutes.txt" })).status, "error");
      await setRuntime({});
    });

    test("paths that leave the scope are refused: .., absolute, symlinks planted by bash", async () => {
      await setRuntime({});
      const sid = await t.session(`rt-escape-${backend}`);
      const victim = join(t.app.config.dataDir, `victim-${backend}.txt`);
      const root = scopeOf(sid);
      const first = await runTools(t, sid, [
        {
          name: "bash",
          args: {
            command: `ln -s /etc etc-link; ln -s ${victim} dangling; mkdir d; ln -s .. d/up; echo hi > ok.txt`,
          },
        },
        { name: "read_file", args: { path: "../../../../etc/passwd" } },
        { name: "read_file", args: { path: "/etc/passwd" } },
        { name: "read_file", args: { path: "etc-link/passwd" } },
        { name: "list_files", args: { path: "etc-link" } },
        { name: "write_file", args: { path: "dangling", content: "pwned" } },
      ]);
      const second = await runTools(t, sid, [
        { name: "write_file", args: { path: "etc-link/new-file", content: "pwned" } },
        { name: "edit_file", args: { path: "d/up/../../x", old_string: "a", new_string: "b" } },
        { name: "write_file", args: { path: "../sibling.txt", content: "pwned" } },
        { name: "bash", args: { command: "pwd", cwd: "../.." } },
        { name: "read_file", args: { path: `${root}/ok.txt` } },
        { name: "list_files", args: { recursive: true } },
      ]);
      const r = [...first, ...second];
      assert.equal(r[0]!.result.exit_code, 0, JSON.stringify(r[0]));
      const refused = (i: number, re: RegExp) => {
        assert.equal(r[i]!.status, "error", `call ${i}: ${JSON.stringify(r[i])}`);
        assert.match(r[i]!.result.error, re, `call ${i}`);
      };
      refused(1, /leaves the workspace/);
      refused(2, /Absolute path \/etc\/passwd is outside the workspace/);
      refused(3, /outside the workspace through a symbolic link/);
      refused(4, /outside the workspace through a symbolic link/);
      refused(5, /outside the workspace through a symbolic link/);
      refused(6, /outside the workspace through a symbolic link/);
      // `..` is applied to the path before links are followed: d/up/../../x is the root's x.
      refused(7, /No file x in the workspace/);
      refused(8, /leaves the workspace/);
      refused(9, /leaves the workspace/);
      assert.ok(!existsSync(victim), "the dangling link's target was not written");
      assert.ok(!existsSync("/etc/new-file"));
      // An absolute path under the scope root is inside: allowed.
      assert.equal(r[10]!.result.content, "hi\n");
      // Links are listed, not followed.
      const entries = r[11]!.result.entries.map((e: any) => `${e.path}:${e.type}`);
      assert.deepEqual(entries, [
        "d:dir",
        "d/up:symlink",
        "dangling:symlink",
        "etc-link:symlink",
        "ok.txt:file",
      ]);
    });

    test("edit_file replaces one exact match; none or several is a clear error", async () => {
      const sid = await t.session(`rt-edit-${backend}`);
      const r = await runTools(t, sid, [
        { name: "write_file", args: { path: "f.txt", content: "one two two" } },
        { name: "edit_file", args: { path: "f.txt", old_string: "one", new_string: "1" } },
        { name: "edit_file", args: { path: "f.txt", old_string: "two", new_string: "2" } },
        { name: "edit_file", args: { path: "f.txt", old_string: "three", new_string: "3" } },
        { name: "read_file", args: { path: "f.txt" } },
      ]);
      assert.deepEqual(r[1]!.result, { path: "f.txt", replaced: 1 });
      assert.match(r[2]!.result.error, /occurs 2 times in f\.txt/);
      assert.match(r[3]!.result.error, /was not found in f\.txt/);
      assert.equal(r[4]!.result.content, "1 two two");
    });

    test("bash runs in the scope folder with a scrubbed environment (no server secrets)", async () => {
      const sid = await t.session(`rt-env-${backend}`);
      const r = await runTool(t, sid, "bash", {
        command: "pwd; echo HOME=$HOME; env; cat /proc/self/environ | tr '\\0' '\\n'",
      });
      assert.equal(r.status, "ok");
      const root = scopeOf(sid);
      assert.ok(r.result.stdout.startsWith(`${root}\nHOME=${root}\n`), r.result.stdout);
      assert.ok(
        !r.result.stdout.includes(CANARY),
        "the server's environment leaked into the command",
      );
      assert.ok(!r.result.stdout.includes(TEST_API_KEY), "the API key leaked into the command");
      assert.match(r.result.stdout, /^PATH=/m);
    });

    test("the timeout kills the whole process group, also a child and grandchild that ignore SIGTERM", async () => {
      await setRuntime({ timeout_s: 1 });
      const sid = await t.session(`rt-timeout-${backend}`);
      const command = [
        "trap '' TERM",
        "( trap '' TERM; sleep 300 & echo $! > grandchild.pid; wait ) &",
        "echo $! > child.pid",
        "wait",
      ].join("\n");
      const r = await runTool(t, sid, "bash", { command });
      assert.equal(r.result.timed_out, true, JSON.stringify(r));
      assert.equal(r.result.exit_code, null);
      assert.match(r.result.note, /killed after the 1 s timeout/);
      // SIGTERM was ignored: only the SIGKILL after the grace period ended it.
      assert.ok(r.result.duration_ms >= 2500, `ended after ${r.result.duration_ms} ms`);
      const root = scopeOf(sid);
      for (const f of ["child.pid", "grandchild.pid"]) {
        const pid = Number(readFileSync(join(root, f), "utf8").trim());
        assert.ok(pid > 0, f);
        assert.ok(processGone(pid), `${f} (${pid}) still runs`);
      }
      await setRuntime({});
    });

    test("cancelling the task kills the running command", async () => {
      const sid = await t.session(`rt-cancel-${backend}`);
      const pidFile = join(scopeOf(sid), "sleeper.pid");
      const taskId = await startToolTurn(t, sid, [
        { name: "bash", args: { command: "sleep 300 & echo $! > sleeper.pid; wait" } },
      ]);
      await until(
        () => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "",
        "the pid file",
      );
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      assert.ok(!processGone(pid), "the command runs before the cancel");
      const c = await t.api("POST", `/api/v1/tasks/${taskId}/cancel`);
      assert.ok(c.status < 300, JSON.stringify(c.body));
      await t.waitForTask(taskId, ["cancelled", "failed"]);
      await until(() => processGone(pid), `process ${pid} to be killed`);
      t.llm.reset();
    });

    test("output is capped per stream and says so; read_file is cut and reads on with offset", async () => {
      await setRuntime({ max_output_bytes: 1024 });
      const sid = await t.session(`rt-cap-${backend}`);
      const r = await runTools(t, sid, [
        {
          name: "bash",
          args: {
            command:
              "head -c 5000 /dev/zero | tr '\\0' a; head -c 3000 /dev/zero | tr '\\0' b >&2; head -c 5000 /dev/zero | tr '\\0' c > big.txt",
          },
        },
        { name: "read_file", args: { path: "big.txt" } },
        { name: "read_file", args: { path: "big.txt", offset: 4096 } },
      ]);
      const sh = r[0]!.result;
      assert.equal(sh.stdout, "a".repeat(1024));
      assert.equal(sh.stderr, "b".repeat(1024));
      assert.equal(sh.truncated, true);
      assert.match(sh.note, /output cut at 1024 bytes per stream/);
      assert.equal(r[1]!.result.content, "c".repeat(1024));
      assert.equal(r[1]!.result.truncated, true);
      assert.match(r[1]!.result.note, /cut at byte 1024 of 5000; read on with offset 1024/);
      assert.equal(r[2]!.result.content, "c".repeat(904));
      assert.equal(r[2]!.result.truncated, false);
      await setRuntime({});
    });
  });

  describe(`SWITCHYARD_RUNTIME=none on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend, env: { SWITCHYARD_RUNTIME: "none" } });
    });
    after(() => t?.close());

    test("workspace tools fail with a clear tool error and the turn goes on", async () => {
      await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["bash"],
        runtime: { provider: "host" },
      });
      const sid = await t.session(`rt-none-${backend}`);
      const taskId = await startToolTurn(t, sid, [{ name: "bash", args: { command: "echo hi" } }]);
      assert.equal((await t.waitForTask(taskId)).status, "complete");
      const [r] = await toolOutcomes(t, taskId);
      assert.equal(r!.status, "error");
      assert.match(
        r!.result.error,
        /Workspace tools are off on this server \(SWITCHYARD_RUNTIME=none\)/,
      );
      assert.equal(
        t.app.runtime.describe(),
        "none (SWITCHYARD_RUNTIME=none: workspace tools are off)",
      );
    });
  });
}
