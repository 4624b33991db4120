/**
 * Git auto-commit with the real git binary in a temp workspace: settings (defaults,
 * validation, concurrent writers), commits on selected events only, no empty commits,
 * serialised commits, and failures reported through onError without throwing or leaking.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { GitAutoCommit, loadGitAutoCommitConfig } from "../src/events/git-auto-commit.ts";
import { EVENT_NAMES, OutboundInputError } from "../src/events/outbound-types.ts";
import { Store } from "../src/store/index.ts";
import {
  ALL_BACKENDS,
  createTestDatabase,
  runsOn,
  type TestDatabase,
  tempDir,
} from "./support/db.ts";

// No identity from the machine's git config: the service must set a local one.
const home = tempDir("switchyard-git-home-");
writeFileSync(join(home.path, "gitconfig"), "");
process.env.GIT_CONFIG_GLOBAL = join(home.path, "gitconfig");
process.env.GIT_CONFIG_NOSYSTEM = "1";
after(() => home.remove());

const log = pino({ level: "silent" });

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, encoding: "utf8" });
}

/** Commit subjects, newest first ([] when there is no repository or it has no commit yet). */
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

for (const backend of ALL_BACKENDS) {
  describe(`git auto-commit (${backend})`, runsOn(backend), () => {
    let db: TestDatabase;
    let store: Store;
    const dirs: Array<{ remove(): void }> = [];

    before(async () => {
      db = await createTestDatabase(backend);
      store = await Store.open(db.url);
    });
    after(async () => {
      await store.close();
      await db.drop();
      for (const d of dirs) d.remove();
    });

    /** A fresh workspace and a service over it; settings reset to off/defaults. */
    async function setup(opts: { gitBinary?: string; timeoutMs?: number } = {}) {
      const ws = tempDir("switchyard-ws-");
      dirs.push(ws);
      const errors: Error[] = [];
      const gac = new GitAutoCommit({
        store,
        workspaceDir: join(ws.path, "workspace"),
        log,
        onError: (e) => errors.push(e),
        ...opts,
      });
      await gac.set({
        enabled: false,
        on_events: ["session.end", "roadmap.exported", "task.sync"],
      });
      return { gac, dir: join(ws.path, "workspace"), errors };
    }

    test("off by default: the seed's default events, and no commit on session.end", async () => {
      const fresh = await createTestDatabase(backend);
      const s = await Store.open(fresh.url);
      try {
        const ws = tempDir("switchyard-ws-");
        dirs.push(ws);
        const gac = new GitAutoCommit({ store: s, workspaceDir: ws.path, log });
        assert.deepEqual(await gac.get(), {
          enabled: false,
          on_events: ["session.end", "roadmap.exported", "task.sync"],
        });
        writeFileSync(join(ws.path, "notes.md"), "hello\n");
        const out = await gac.handleEvent("session.end", { session_id: "s1" });
        assert.deepEqual(out, { committed: false, reason: "disabled" });
        assert.equal(existsSync(join(ws.path, ".git")), false, "no repository was made");
      } finally {
        await s.close();
        await fresh.drop();
      }
    });

    test("set validates enabled and on_events and lists the valid event names", async () => {
      const { gac } = await setup();
      await assert.rejects(
        gac.set({ on_events: ["session.end", "deploy.done"] }),
        (err: unknown) =>
          err instanceof OutboundInputError &&
          err.status === 422 &&
          err.message.includes("deploy.done") &&
          EVENT_NAMES.every((n) => err.message.includes(n)),
      );
      await assert.rejects(
        gac.set({ enabled: "yes" as unknown as boolean }),
        (err: unknown) => err instanceof OutboundInputError && err.status === 422,
      );
      assert.deepEqual(await gac.set({ enabled: true, on_events: ["task.sync", "task.sync"] }), {
        enabled: true,
        on_events: ["task.sync"],
      });
      // Omitted fields keep their value.
      assert.deepEqual(await gac.set({ enabled: false }), {
        enabled: false,
        on_events: ["task.sync"],
      });
    });

    test("on + session.end after writing a file: one commit naming the event; no change → no commit", async () => {
      const { gac, dir, errors } = await setup();
      await gac.set({ enabled: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "report.md"), "# Report\n");
      const out = await gac.handleEvent("session.end", { session_id: "sess-42", secret: "x" });
      assert.equal(out.committed, true, JSON.stringify(out));
      assert.match(out.commit ?? "", /^[0-9a-f]{40}$/);
      assert.deepEqual(subjects(dir), ["switchyard: session.end (1 file)"]);
      const body = git(dir, "log", "-1", "--format=%b");
      assert.match(body, /Auto-commit on session\.end: 1 added/);
      assert.match(body, /session_id: sess-42/);
      assert.doesNotMatch(body, /secret/, "only whitelisted payload fields are named");
      assert.equal(git(dir, "config", "user.name").trim(), "switchyard");
      assert.equal(git(dir, "status", "--porcelain"), "", "every change was committed");

      const again = await gac.handleEvent("session.end", {});
      assert.deepEqual(again, { committed: false, reason: "no changes" });
      assert.equal(subjects(dir).length, 1);

      writeFileSync(join(dir, "report.md"), "# Report v2\n");
      writeFileSync(join(dir, "other.txt"), "x\n");
      assert.equal((await gac.handleEvent("session.end")).committed, true);
      assert.deepEqual(subjects(dir), [
        "switchyard: session.end (2 files)",
        "switchyard: session.end (1 file)",
      ]);
      assert.deepEqual(errors, []);
    });

    test("an event not in on_events does not commit; one in it does", async () => {
      const { gac, dir } = await setup();
      await gac.set({ enabled: true, on_events: ["roadmap.exported"] });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "roadmap.md"), "- ship\n");
      assert.deepEqual(await gac.handleEvent("session.end"), {
        committed: false,
        reason: "event not selected",
      });
      assert.deepEqual(subjects(dir), []);
      assert.equal((await gac.handleEvent("roadmap.exported")).committed, true);
      assert.deepEqual(subjects(dir), ["switchyard: roadmap.exported (1 file)"]);
    });

    test("events at once are committed one after another (no index.lock clash)", async () => {
      const { gac, dir, errors } = await setup();
      await gac.set({ enabled: true });
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 5; i++) writeFileSync(join(dir, `f${i}.txt`), `${i}\n`);
      const outs = await Promise.all([
        gac.handleEvent("session.end"),
        gac.handleEvent("task.sync"),
        gac.handleEvent("roadmap.exported"),
      ]);
      assert.equal(outs.filter((o) => o.committed).length, 1, JSON.stringify(outs));
      assert.deepEqual(
        outs.filter((o) => !o.committed).map((o) => o.reason),
        ["no changes", "no changes"],
      );
      const log = subjects(dir);
      assert.equal(log.length, 1);
      assert.match(
        log[0]!,
        /^switchyard: (session\.end|task\.sync|roadmap\.exported) \(5 files\)$/,
      );
      assert.deepEqual(errors, []);
    });

    test("a git failure never throws: error callback with a secret-free message", async () => {
      const { gac, dir, errors } = await setup();
      await gac.set({ enabled: true });
      mkdirSync(dir, { recursive: true });
      // An unusable .git (a gitfile pointing nowhere) whose text holds a credential.
      writeFileSync(join(dir, ".git"), "gitdir: https://deploy:hunter2-secret@git.example/x\n");
      writeFileSync(join(dir, "a.txt"), "a\n");
      const out = await gac.handleEvent("session.end", { session_id: "s" });
      assert.equal(out.committed, false);
      assert.equal(errors.length, 1);
      const msg = errors[0]!.message;
      assert.match(msg, /^git auto-commit on session\.end failed: git \w+/);
      assert.match(msg, /not a git repository/);
      assert.doesNotMatch(msg, /hunter2/);
      assert.doesNotMatch(out.reason ?? "", /hunter2/);
    });

    test("a git command that hangs is cut off by the time limit", async () => {
      const bin = tempDir("switchyard-fakegit-");
      dirs.push(bin);
      const fake = join(bin.path, "git");
      writeFileSync(fake, "#!/bin/sh\nexec sleep 10\n");
      chmodSync(fake, 0o755);
      const { gac, dir, errors } = await setup({ gitBinary: fake, timeoutMs: 200 });
      await gac.set({ enabled: true });
      mkdirSync(dir, { recursive: true });
      const started = Date.now();
      const out = await gac.handleEvent("task.sync");
      assert.equal(out.committed, false);
      assert.ok(Date.now() - started < 5000);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /timed out after 200 ms/);
    });

    test("settings written by two processes at once: no update lost, version counts each", async () => {
      const other = await Store.open(db.url);
      try {
        const { gac } = await setup();
        const before = (await loadGitAutoCommitConfig(store)).version;
        const peer = new GitAutoCommit({ store: other, workspaceDir: "/nonexistent", log });
        await Promise.all([
          ...Array.from({ length: 5 }, () => gac.set({ enabled: true })),
          ...Array.from({ length: 5 }, () => peer.set({ on_events: ["task.sync", "error"] })),
        ]);
        const doc = await loadGitAutoCommitConfig(store);
        assert.deepEqual(doc.value, { enabled: true, on_events: ["task.sync", "error"] });
        assert.equal(doc.version, before + 10);
      } finally {
        await other.close();
      }
    });
  });
}
