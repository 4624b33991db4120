/**
 * The GitHub folder is self-contained: a copy of `integrations/github` in a temp folder
 * outside the repository (no `node_modules` of switchyard's above it), named in
 * INTEGRATION_DIRS, overrides the repo's own folder, loads without errors and turns a
 * signed `pull_request.opened` delivery (a real @octokit/webhooks-examples payload) into
 * exactly one comment on the fake GitHub, through the fake LLM, all on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import { after, before, describe, test } from "node:test";
import { githubAction, githubExample } from "./fixtures/github-webhooks.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { tempDir } from "./support/db.ts";
import { type FakeGithub, startFakeGithub } from "./support/fake-github.ts";

const ROOT = join(import.meta.dirname, "..");
const SECRET = "gh-portable-secret-0123456789";
const TOKEN = "ghp_portable_token_0123456789";
const REPO = "Codertocat/Hello-World";

const opened = () => githubExample("pull_request", githubAction("opened"));

/** The nearest directory at or above `dir` that has a `node_modules`, if any. */
function nodeModulesAbove(dir: string): string | undefined {
  const parts = dir.split(sep);
  for (let i = parts.length; i > 0; i--) {
    const d = parts.slice(0, i).join(sep) || sep;
    if (existsSync(join(d, "node_modules"))) return d;
  }
  return undefined;
}

describe("the GitHub folder copied out of the repository", () => {
  const tmp = tempDir("switchyard-github-portable-");
  const ext = join(tmp.path, "ext");
  const copy = join(ext, "github");
  let gh: FakeGithub;
  let t: TestApp;

  before(async () => {
    cpSync(join(ROOT, "integrations", "github"), copy, { recursive: true });
    // Mark the copy, so what is loaded can be told apart from the repo's folder.
    const index = join(copy, "index.ts");
    writeFileSync(index, readFileSync(index, "utf8").replace('"1.0.0"', '"1.0.0-portable"'));
    gh = await startFakeGithub({ token: TOKEN });
    gh.addPull(REPO, opened().pull_request, [
      { filename: "README.md", status: "modified", additions: 1, deletions: 1, patch: "+Hi" },
    ]);
    t = await startTestApp({
      env: {
        INTEGRATION_DIRS: ext,
        GITHUB_WEBHOOK_SECRET: SECRET,
        GITHUB_TOKEN: TOKEN,
        GITHUB_API_URL: gh.url,
      },
      tuning: { deliveryScheduleMs: [50, 50, 50], pollMs: 50 },
    });
  });
  after(async () => {
    await t.close();
    await gh.close();
    tmp.remove();
  });

  test("the copy is the folder loaded: outside the repo, no node_modules above it, no errors", () => {
    assert.equal(nodeModulesAbove(copy), undefined, "nothing above the copy provides packages");
    const gi = t.app.integrations.get("github")!;
    assert.equal(gi.dir, copy);
    assert.equal(gi.metadata.version, "1.0.0-portable");
    assert.deepEqual(gi.overrides, [join(ROOT, "integrations", "github")]);
    assert.deepEqual(gi.errors, []);
    assert.equal(gi.status, "ready");
    assert.ok(t.app.tools.get("github_get_pr")!.source.startsWith(copy));
  });

  test("a signed pull_request.opened delivery ends in exactly one comment on the PR", async () => {
    const body = JSON.stringify(opened());
    const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
    const answer = "Portable review: looks good. LGTM-PORTABLE";
    t.llm.reset();
    t.llm.enqueue(
      { toolCalls: [{ name: "github_get_pr", args: { repo: REPO, number: 2 } }] },
      { text: answer },
    );
    const res = await fetch(`${t.url}/integrations/github/webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": signature,
      },
      body,
    });
    const accepted = (await res.json()) as { status: string; task_id: string };
    assert.equal(res.status, 200, JSON.stringify(accepted));
    assert.equal(accepted.status, "processed");
    const task = await t.waitForTask(accepted.task_id);
    assert.equal(task.status, "complete", JSON.stringify(task));

    const tool = t.llm.requests[1]!.messages.find((m: any) => m.role === "tool");
    assert.equal(JSON.parse(tool.content).files[0].filename, "README.md", "the copy's tool ran");
    await gh.waitForComments(REPO, 2, answer);
    let delivered: any;
    for (let i = 0; i < 500 && delivered?.status !== "delivered"; i++) {
      delivered = await t.app.store.db.kysely
        .selectFrom("deliveries")
        .selectAll()
        .where("task_id", "=", task.id)
        .executeTakeFirst();
      if (delivered?.status !== "delivered") await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(delivered?.status, "delivered");
    const mine = gh.comments(REPO, 2).filter((c) => c.body.includes(answer));
    assert.equal(mine.length, 1);
    assert.match(mine[0]!.body, /<!-- switchyard-github delivery=[\w-]+ part=1\/1 -->$/);

    const refused = await fetch(`${t.url}/integrations/github/webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": `sha256=${createHmac("sha256", "wrong").update(body).digest("hex")}`,
      },
      body,
    });
    assert.equal(refused.status, 401, "the copy verifies signatures through ctx.verify");
  });
});
