/**
 * Where runtimes come from: an integration folder's `runtime.ts` (a provider factory
 * called with the folder's ctx) selected by a bot's `runtime.provider`, over real HTTP with
 * the fake LLM calling `bash`; a `runtime.ts` that does not fit the contract is reported
 * on the integration; and how `SWITCHYARD_RUNTIME` is resolved when bwrap does not work
 * (`auto` falls back to host and says why, `bubblewrap` refuses to start).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../src/config.ts";
import { probeBwrap } from "../src/runtime/bubblewrap.ts";
import { createHostProvider } from "../src/runtime/host.ts";
import { PathEscapeError } from "../src/runtime/paths.ts";
import { copyIntoScope, ensureScope, scopeRoot } from "../src/runtime/scope.ts";
import { RuntimeService } from "../src/runtime/service.ts";
import type { Runtime } from "../src/sdk/runtime.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";
import { runTool } from "./support/runtime-tools.ts";

/** `echoer`: a runtime provider whose bash answers with the command, the scope and ctx's name. */
function writeEchoer(root: string): void {
  const dir = join(root, "echoer");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "runtime.ts"),
    `export default (ctx) => ({
  get(scope) {
    return {
      name: "echoer",
      root: scope.path,
      async bash(input) {
        return {
          exitCode: 0,
          stdout: \`\${ctx.name}|\${scope.kind}|\${input.command}|network=\${input.network}\`,
          stderr: "",
          timedOut: false,
          truncated: false,
          durationMs: 1,
        };
      },
    };
  },
  async stop() {},
});
`,
  );
  const bad = join(root, "badrt");
  mkdirSync(bad, { recursive: true });
  writeFileSync(join(bad, "runtime.ts"), "export default { not: 'a function' };\n");
}

for (const backend of ALL_BACKENDS) {
  describe(`runtime providers from integration folders on ${backend}`, runsOn(backend), () => {
    let t: TestApp;
    const dirs = tempDir("switchyard-rt-int-");
    before(async () => {
      writeEchoer(dirs.path);
      t = await startTestApp({
        backend,
        env: { SWITCHYARD_RUNTIME: "host", INTEGRATION_DIRS: dirs.path },
      });
    });
    after(async () => {
      await t?.close();
      dirs.remove();
    });

    test("a bot whose runtime.provider names the folder runs bash on that provider", async () => {
      const put = await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["bash"],
        runtime: { provider: "echoer", scope: "bot", network: true },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const sid = await t.session(`rt-echo-${backend}`);
      const r = await runTool(t, sid, "bash", { command: "uname -a" });
      assert.equal(r.status, "ok", JSON.stringify(r));
      assert.equal(r.result.stdout, "echoer|bot|uname -a|network=true");
    });

    test("a runtime.ts that does not fit is reported; its name is no provider", async () => {
      const list = await t.api("GET", "/api/v1/admin/integrations");
      const bad = list.body.find((i: any) => i.name === "badrt");
      assert.ok(bad, JSON.stringify(list.body).slice(0, 500));
      assert.match(JSON.stringify(bad), /must export a function \(ctx\) => RuntimeProvider/);
      const put = await t.api("PUT", "/api/v1/admin/bots/default", {
        runtime: { provider: "badrt" },
      });
      assert.equal(put.status, 400);
      assert.match(put.body.detail, /unknown provider "badrt"/);
    });
  });
}

describe("SWITCHYARD_RUNTIME when bwrap does not work", () => {
  const lookups = {
    botRuntime: async () => ({}),
    sessionClientId: async () => "c",
    channelId: async () => undefined,
  };
  const broken = () => ({ ok: false, reason: "bwrap not found (install Debian's bubblewrap)" });
  const base = { workspaceDir: "/nonexistent", hidden: [], lookups, probe: broken };

  test("a missing bwrap is reported with a reason", () => {
    const p = probeBwrap("/nonexistent/bwrap");
    assert.equal(p.ok, false);
    assert.match(p.reason!, /cannot start a sandbox here|not found/);
  });

  test("auto falls back to host and the banner says why", () => {
    const s = new RuntimeService({ ...base, setting: "auto" });
    assert.equal(s.chosen, "host");
    assert.match(s.describe(), /^host .*bubblewrap unavailable: bwrap not found/);
  });

  test("bubblewrap refuses to start; a bot asking for it gets a tool error", async () => {
    assert.throws(
      () => new RuntimeService({ ...base, setting: "bubblewrap" }),
      /SWITCHYARD_RUNTIME=bubblewrap, but bwrap not found/,
    );
    const s = new RuntimeService({
      ...base,
      setting: "host",
      lookups: { ...lookups, botRuntime: async () => ({ provider: "bubblewrap" }) },
    });
    await assert.rejects(
      s.open({ sessionId: "s", botId: "b" }),
      /runtime is bubblewrap, which cannot work on this server: bwrap not found/,
    );
  });
});

describe("scope helpers and settings", () => {
  test("copyIntoScope writes bytes or a stream into the scope folder, never outside", async () => {
    const ws = tempDir("switchyard-rt-copy-");
    try {
      const scope = { kind: "session" as const, id: "s-1" };
      const root = scopeRoot(ws.path, scope);
      assert.equal(root, join(ws.path, "scopes", "session", "s-1"));
      const a = await copyIntoScope(ws.path, scope, "in/a.txt", new TextEncoder().encode("bytes"));
      assert.equal(a, join(root, "in", "a.txt"));
      assert.equal(readFileSync(a, "utf8"), "bytes");
      const b = await copyIntoScope(
        ws.path,
        scope,
        "b.txt",
        Readable.from([Buffer.from("str"), Buffer.from("eam")]),
      );
      assert.equal(readFileSync(b, "utf8"), "stream");
      await assert.rejects(
        copyIntoScope(ws.path, scope, "../escape.txt", Buffer.from("x")),
        PathEscapeError,
      );
      await assert.rejects(
        copyIntoScope(ws.path, scope, "/etc/escape.txt", Buffer.from("x")),
        PathEscapeError,
      );
      symlinkSync(ws.path, join(root, "up"));
      await assert.rejects(
        copyIntoScope(ws.path, scope, "up/escape.txt", Buffer.from("x")),
        PathEscapeError,
      );
      assert.ok(
        !existsSync(join(ws.path, "escape.txt")) &&
          !existsSync(join(ws.path, "scopes", "session", "escape.txt")),
      );
      // An id that is not a plain name cannot name a path.
      assert.match(
        scopeRoot(ws.path, { kind: "channel", id: "../../etc" }),
        /scopes\/channel\/h-[0-9a-f]{32}$/,
      );
    } finally {
      ws.remove();
    }
  });

  test("bash's cwd must be an existing folder in the scope", async () => {
    const ws = tempDir("switchyard-rt-cwd-");
    try {
      const scope = await ensureScope(ws.path, { kind: "bot", id: "b" });
      const rt = createHostProvider().get(scope) as Runtime;
      await assert.rejects(
        rt.bash({ command: "pwd", cwd: "nope" }),
        /cwd nope is not a folder in the workspace/,
      );
      await assert.rejects(rt.bash({ command: "pwd", cwd: ".." }), /leaves the workspace/);
      mkdirSync(join(scope.path, "sub"));
      assert.equal(
        (await rt.bash({ command: "pwd", cwd: "sub" })).stdout,
        `${join(scope.path, "sub")}\n`,
      );
    } finally {
      ws.remove();
    }
  });

  test("SWITCHYARD_RUNTIME is validated at start", () => {
    assert.throws(
      () => loadConfig({ SWITCHYARD_RUNTIME: "docker" }, tempDir().path),
      /SWITCHYARD_RUNTIME: expected auto, host, bubblewrap or none/,
    );
    assert.equal(loadConfig({}, tempDir().path).SWITCHYARD_RUNTIME, "auto");
  });
});
