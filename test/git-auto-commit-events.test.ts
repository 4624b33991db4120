/**
 * Git auto-commit driven by events through the running server: ending a session or
 * emitting a selected event commits the workspace; off → nothing; a broken repository
 * raises `error` events to subscribers without looping, even when `error` itself is a
 * selected event.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { tempDir } from "./support/db.ts";

const home = tempDir("switchyard-git-home-");
writeFileSync(join(home.path, "gitconfig"), "");
process.env.GIT_CONFIG_GLOBAL = join(home.path, "gitconfig");
process.env.GIT_CONFIG_NOSYSTEM = "1";
after(() => home.remove());

function subjects(dir: string): string[] {
  if (!existsSync(join(dir, ".git"))) return [];
  // Only "no commit yet" (no HEAD: exit 1) means none; any other git failure is an error,
  // so a broken repository cannot pass for "nothing committed".
  const head = spawnSync("git", ["rev-parse", "--verify", "--quiet", "HEAD"], { cwd: dir });
  if (head.status === 1) return [];
  if (head.status !== 0) throw new Error(`git rev-parse HEAD in ${dir}: ${head.stderr}`);
  return execFileSync("git", ["log", "--format=%s"], { cwd: dir, encoding: "utf8" })
    .trim()
    .split("\n")
    .filter(Boolean);
}

/**
 * Polls `fn` until it gives a value. An error counts as "not yet" (the server may be in the
 * middle of `git init`, when .git exists but is not a repository yet) and is rethrown if
 * it is still the answer at the deadline; negative checks call `subjects` directly, so a
 * broken repository never passes for "nothing committed".
 */
async function until<T>(fn: () => T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    let failure: unknown;
    try {
      const v = fn();
      if (v !== undefined) return v;
    } catch (err) {
      failure = err;
    }
    if (Date.now() > end) {
      if (failure) throw failure;
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("git auto-commit on events", () => {
  let t: TestApp;
  let ws: { path: string; remove(): void };
  let capture: CaptureServer;
  before(async () => {
    ws = tempDir("switchyard-ws-");
    capture = await startCaptureServer();
    t = await startTestApp({ env: { SWITCHYARD_WORKSPACE_DIR: ws.path } });
  });
  after(async () => {
    await t?.close();
    await capture?.close();
    ws?.remove();
  });

  test("off: a session.end commits nothing", async () => {
    writeFileSync(join(ws.path, "notes.md"), "draft\n");
    const id = await t.session("git:off");
    assert.equal((await t.api("POST", `/api/v1/sessions/${id}/end`)).status, 200);
    await t.app.events.drain();
    await t.app.gitAutoCommit.idle();
    assert.deepEqual(subjects(ws.path), []);
  });

  test("on: session.end and a selected emitted event commit; an unselected one does not", async () => {
    const put = await t.api("PUT", "/api/v1/git-auto-commit", {
      enabled: true,
      on_events: ["session.end", "task.sync"],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));

    const id = await t.session("git:on");
    assert.equal((await t.api("POST", `/api/v1/sessions/${id}/end`)).status, 200);
    const first = await until(() => {
      const s = subjects(ws.path);
      return s.length ? s : undefined;
    }, "the session.end commit");
    assert.match(first[0]!, /session\.end/);

    writeFileSync(join(ws.path, "roadmap.md"), "v2\n");
    const emitted = await t.api("POST", "/api/v1/events", { event: "roadmap.exported" });
    assert.equal(emitted.status, 200);
    // A selected event after it is the marker: had roadmap.exported been selected, its
    // commit (of roadmap.md) would be the second one instead.
    assert.equal((await t.api("POST", "/api/v1/events", { event: "task.sync" })).status, 200);
    const second = await until(() => {
      const s = subjects(ws.path);
      return s.length >= 2 ? s : undefined;
    }, "the task.sync commit");
    assert.equal(second.length, 2);
    assert.match(second[0]!, /task\.sync/, "roadmap.exported is not selected");
  });

  test("a broken repository raises error events, and `error` on the list does not loop", async () => {
    const reg = await t.api("POST", "/api/v1/webhooks", {
      url: `${capture.url}/errors`,
      events: ["error"],
    });
    assert.ok(reg.status === 201 || reg.status === 200, JSON.stringify(reg.body));
    await t.api("PUT", "/api/v1/git-auto-commit", {
      enabled: true,
      on_events: ["task.sync", "error"],
    });
    rmSync(join(ws.path, ".git"), { recursive: true, force: true });
    writeFileSync(join(ws.path, ".git"), "not a repository\n");
    writeFileSync(join(ws.path, "more.md"), "x\n");

    assert.equal((await t.api("POST", "/api/v1/events", { event: "task.sync" })).status, 200);
    const got = await capture.waitFor(1);
    const error = got.find((r) => r.path === "/errors")!;
    assert.equal(error.json.event, "error");
    assert.equal(error.json.data.source, "git_auto_commit");
    assert.match(error.json.data.error, /task\.sync/);
    // A second failing event is the marker: an error event that led to another commit
    // attempt (and so another error) would have arrived before the marker's own error.
    assert.equal((await t.api("POST", "/api/v1/events", { event: "task.sync" })).status, 200);
    const errors = () => capture.requests.filter((r) => r.path === "/errors");
    await until(() => (errors().length >= 2 ? true : undefined), "the marker's error");
    await t.app.events.drain();
    await t.app.gitAutoCommit.idle();
    assert.equal(errors().length, 2, "one error per failing event, no echo");
  });
});
