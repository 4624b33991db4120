/**
 * The sample payload that ships with `scripts/github-replay.ts`: the script's usage names
 * it, and replayed as the usage says (only `--url` pointing at the test server) the GitHub
 * router accepts it and queues a review turn.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type FakeGithub, startFakeGithub } from "./support/fake-github.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");
const SCRIPT = join(ROOT, "scripts", "github-replay.ts");
const SECRET = "replay-sample-secret-0123456789";

let gh: FakeGithub;
let t: TestApp;
before(async () => {
  gh = await startFakeGithub();
  t = await startTestApp({
    env: { GITHUB_WEBHOOK_SECRET: SECRET, GITHUB_API_URL: gh.url, GITHUB_TOKEN: "ghp_fake_0123" },
  });
});
after(async () => {
  await t.close();
  await gh.close();
});

test("the usage names a shipped sample, and the router accepts it replayed as the usage says", async () => {
  const help = await runCommand(process.execPath, [SCRIPT, "--help"], ROOT);
  assert.equal(help.code, 0, help.err);
  const named = /scripts\/samples\/[\w.-]+\.json/.exec(help.out)?.[0];
  assert.ok(named, `the usage names no sample:\n${help.out}`);
  assert.ok(existsSync(join(ROOT, named)), `${named} does not exist`);
  const event = /--event (\w+) scripts\/samples\//.exec(help.out)?.[1];
  assert.equal(event, "pull_request", help.out);

  const r = await runCommand(
    process.execPath,
    [SCRIPT, "--url", `${t.url}/integrations/github/webhook`, "--event", event!, named],
    ROOT,
    { GITHUB_WEBHOOK_SECRET: SECRET },
  );
  assert.equal(r.code, 0, r.out + r.err);
  const body = JSON.parse(/^200 (.*)$/.exec(r.out.trim())![1]!);
  assert.equal(body.status, "processed");
  assert.equal(body.event, "pull_request");
  const task = await t.api("GET", `/api/v1/tasks/${body.task_id}`);
  assert.equal(task.status, 200);
  const messages = await t.api("GET", `/api/v1/sessions/${task.body.session_id}/messages`);
  const text = JSON.stringify(messages.body);
  assert.match(text, /Pull request #1 opened in Codertocat\/Hello-World/);
});
