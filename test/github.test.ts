/**
 * The GitHub integration over real HTTP: real payloads from @octokit/webhooks-examples,
 * signed as GitHub signs them (an independent HMAC here), against a fake GitHub REST API
 * and the fake LLM, all on 127.0.0.1. The folder is the repo's own `integrations/github`,
 * discovered by the test app.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { githubAction as action, githubExample as example } from "./fixtures/github-webhooks.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn, tempDir } from "./support/db.ts";
import { type FakeGithub, startFakeGithub } from "./support/fake-github.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");
const SECRET = "gh-webhook-secret-0123456789";
const TOKEN = "ghp_fake_token_0123456789abcdef";
const REPO = "Codertocat/Hello-World";
const BOT_LOGIN = "switchyard-bot";
const SKILL = "integrations/github/github";
const TUNING = {
  deliveryScheduleMs: [50, 50, 50],
  minBackoffAfterThrottleMs: 50,
  httpTimeoutMs: 500,
  pollMs: 50,
};

const sign = (body: string | Buffer, secret = SECRET) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

/** POSTs a webhook like GitHub does; `null` leaves a header out. */
async function send(
  t: TestApp,
  event: string | null,
  payload: unknown,
  o: { delivery?: string | null; signature?: string | null; contentType?: string } = {},
): Promise<{ status: number; body: any }> {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = {
    "content-type": o.contentType ?? "application/json",
    "user-agent": "GitHub-Hookshot/test",
  };
  if (event !== null) headers["x-github-event"] = event;
  const delivery = o.delivery === undefined ? randomUUID() : o.delivery;
  if (delivery !== null) headers["x-github-delivery"] = delivery;
  const signature = o.signature === undefined ? sign(body) : o.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  const res = await fetch(`${t.url}/integrations/github/webhook`, {
    method: "POST",
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

/**
 * What accepted events stored: inbound (user) messages and tasks. Answers the agent adds
 * (assistant and tool messages) are left out, so counts hold while earlier turns finish.
 */
async function stored(t: TestApp): Promise<{ messages: number; tasks: number }> {
  const k = t.app.store.db.kysely;
  const messages = await k
    .selectFrom("messages")
    .select((eb) => eb.fn.countAll().as("n"))
    .where("role", "=", "user")
    .executeTakeFirstOrThrow();
  const tasks = await k
    .selectFrom("tasks")
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  return { messages: Number(messages.n), tasks: Number(tasks.n) };
}

/** The outbox row of a task once it is delivered or dead. */
async function settledDelivery(t: TestApp, taskId: string, timeoutMs = 10_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  let row: any;
  while (Date.now() < until) {
    row = await t.app.store.db.kysely
      .selectFrom("deliveries")
      .selectAll()
      .where("task_id", "=", taskId)
      .executeTakeFirst();
    if (row && (row.status === "delivered" || row.status === "dead")) return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`delivery of ${taskId} not settled: ${JSON.stringify(row)}`);
}

/** The parsed content of the `i`-th tool result the model saw in its request `req`. */
function toolResult(t: TestApp, req: number, i = 0): any {
  const msgs = t.llm.requests[req]!.messages.filter((m: any) => m.role === "tool");
  return JSON.parse(msgs[i].content);
}

function seed(gh: FakeGithub): void {
  const pr = example("pull_request", action("opened")).pull_request;
  gh.addPull(REPO, pr, [
    {
      filename: "README.md",
      status: "modified",
      additions: 1,
      deletions: 1,
      patch: "@@ -1 +1 @@\n-Hello\n+Hello World",
    },
    {
      filename: "big.txt",
      status: "added",
      additions: 2000,
      deletions: 0,
      patch: Array.from({ length: 2000 }, (_, i) => `+line ${i} of a large file`).join("\n"),
    },
    { filename: "logo.png", status: "added", additions: 0, deletions: 0 },
  ]);
  gh.addIssue(REPO, example("issues", action("opened")).issue);
  gh.addComment(REPO, 1, "First human comment: it happens on Linux.", "alice");
  gh.addComment(REPO, 1, `A very long log:\n${"x".repeat(5000)}`, "bob");
}

describe("GitHub integration", () => {
  let gh: FakeGithub;
  let t: TestApp;
  const dir = tempDir("switchyard-github-");

  before(async () => {
    gh = await startFakeGithub({ token: TOKEN });
    seed(gh);
    t = await startTestApp({
      env: {
        GITHUB_WEBHOOK_SECRET: SECRET,
        GITHUB_TOKEN: TOKEN,
        GITHUB_API_URL: gh.url,
        GITHUB_BOT_LOGIN: BOT_LOGIN,
        GITHUB_REPO_ALLOWLIST: `${REPO}, other/allowed`,
      },
      tuning: TUNING,
    });
  });
  after(async () => {
    await t.close();
    await gh.close();
    dir.remove();
  });

  /** Sends a handled event with a scripted answer; returns the finished task. */
  async function run(event: string, payload: unknown, ...replies: any[]): Promise<any> {
    t.llm.reset();
    t.llm.enqueue(...replies);
    const r = await send(t, event, payload);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, "processed");
    assert.equal(r.body.event, event);
    const task = await t.waitForTask(r.body.task_id);
    assert.equal(task.status, "complete", JSON.stringify(task));
    return task;
  }

  test("the repo's folder is discovered and ready; ping answers pong and stores nothing", async () => {
    const gi = t.app.integrations.get("github")!;
    assert.equal(gi.status, "ready", JSON.stringify(gi.errors));
    assert.ok(t.app.tools.get("github_get_pr") && t.app.tools.get("github_get_issue"));
    const before = await stored(t);
    const r = await send(t, "ping", example("ping"));
    assert.deepEqual(r, { status: 200, body: { status: "pong" } });
    assert.deepEqual(await stored(t), before);
  });

  test("pull_request.opened: the model reads the PR, exactly one comment with its answer lands on the PR", async () => {
    const payload = example("pull_request", action("opened"));
    const answer = "Review: the README change reads well. LGTM-1";
    const task = await run(
      "pull_request",
      payload,
      { toolCalls: [{ name: "github_get_pr", args: { repo: REPO, number: 2 } }] },
      { text: answer },
    );
    assert.deepEqual(task.execution_config.tools, ["github_get_pr"]);
    assert.deepEqual(task.execution_config.skills, [SKILL]);
    assert.match(task.execution_config.system_preamble, /Review pull request #2/);
    assert.deepEqual(task.warnings, [], "tools and skill are known");
    const session = (await t.api("GET", `/api/v1/sessions/${task.session_id}`)).body;
    assert.equal(session.client_id, `github:${REPO}`);
    assert.equal(session.bot_id, "default");
    const system = t.llm.requests[0]!.messages.find((m: any) => m.role === "system").content;
    assert.match(system, /## Skill: GitHub reviewer and triager/);
    assert.match(t.llm.requests[0]!.messages.at(-1).content, /Pull request #2 opened/);

    // The tool's result as the model saw it: real PR data, patches cut to the stated size.
    const pr = toolResult(t, 1);
    assert.equal(pr.title, payload.pull_request.title);
    assert.equal(pr.author, "Codertocat");
    assert.equal(pr.state, "open");
    assert.equal(pr.base.ref, payload.pull_request.base.ref);
    assert.equal(pr.head.ref, payload.pull_request.head.ref);
    assert.deepEqual(
      pr.files.map((f: any) => f.filename),
      ["README.md", "big.txt", "logo.png"],
    );
    assert.match(pr.files[0].patch, /\+Hello World/);
    assert.equal(pr.files[1].patch_truncated, true);
    assert.ok(pr.files[1].patch.length <= pr.limits.patch_chars_per_file);
    assert.match(pr.files[1].patch, /truncated: showing the first/);
    assert.equal(pr.files[2].patch, null);

    const reads = gh.requests.filter((r) => r.method === "GET" && r.pathname.includes("/pulls/2"));
    assert.deepEqual(
      reads.map((r) => r.pathname),
      [`/repos/${REPO}/pulls/2`, `/repos/${REPO}/pulls/2/files`],
    );
    for (const r of reads) {
      assert.equal(r.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(r.headers.accept, "application/vnd.github+json");
      assert.equal(r.headers["x-github-api-version"], "2022-11-28");
    }

    const [comment] = await gh.waitForComments(REPO, 2, answer);
    assert.match(comment!.body, /<!-- switchyard-github delivery=[\w-]+ part=1\/1 -->$/);
    const delivery = await settledDelivery(t, task.id);
    assert.equal(delivery.status, "delivered");
    assert.equal(delivery.attempts, 1);
    const post = gh.requests.find((r) => r.method === "POST" && r.body.includes("LGTM-1"))!;
    assert.equal(post.pathname, `/repos/${REPO}/issues/2/comments`);
    assert.equal(post.headers.authorization, `Bearer ${TOKEN}`);
    // The delivery is settled (delivered, terminal): no attempt can follow it.
    assert.equal(gh.comments(REPO, 2).filter((c) => c.body.includes(answer)).length, 1);
  });

  test("a 502 on the comment POST: the outbox retries, still exactly one comment", async () => {
    gh.failNext({ method: "POST", path: /\/issues\/2\/comments$/, status: 502 });
    const task = await run("pull_request", example("pull_request", action("opened")), {
      text: "Answer after a 502. LGTM-502",
    });
    const delivery = await settledDelivery(t, task.id);
    assert.equal(delivery.status, "delivered");
    assert.equal(delivery.attempts, 2);
    const posts = gh.requests.filter((r) => r.method === "POST" && r.body.includes("LGTM-502"));
    assert.equal(posts.length, 2, "one refused with 502, one accepted");
    assert.equal(gh.comments(REPO, 2).filter((c) => c.body.includes("LGTM-502")).length, 1);
  });

  test("a time-out after GitHub stored the comment: the retry finds its marker and posts nothing", async () => {
    gh.delayNextCommentResponse(3000); // stored at once, answered long after the 500 ms timeout
    const task = await run("pull_request", example("pull_request", action("opened")), {
      text: "Answer whose response was lost. LGTM-TIMEOUT",
    });
    const delivery = await settledDelivery(t, task.id);
    assert.equal(delivery.status, "delivered");
    assert.equal(delivery.attempts, 2, "the first attempt timed out");
    const posts = gh.requests.filter((r) => r.method === "POST" && r.body.includes("LGTM-TIMEOUT"));
    assert.equal(posts.length, 1, "the retry checked and did not post again");
    assert.equal(gh.comments(REPO, 2).filter((c) => c.body.includes("LGTM-TIMEOUT")).length, 1);
  });

  test("a long answer is split at line breaks into comments under 65,536 characters", async () => {
    const lines = Array.from({ length: 1200 }, (_, i) => `${i}: ${"review text ".repeat(8)}`);
    const long = lines.join("\n");
    const task = await run("pull_request", example("pull_request", action("opened")), {
      text: long,
    });
    const delivery = await settledDelivery(t, task.id);
    assert.equal(delivery.status, "delivered");
    const mine = gh.comments(REPO, 2).filter((c) => c.body.includes(`delivery=${delivery.id} `));
    assert.equal(mine.length, 2);
    for (const [i, c] of mine.entries()) {
      assert.ok(c.body.length <= 65_536, `part ${i + 1} is ${c.body.length} characters`);
      assert.ok(c.body.endsWith(`part=${i + 1}/2 -->`));
      assert.ok(c.body.startsWith(`_(part ${i + 1}/2)_\n\n`));
    }
    const text = mine.map((c) =>
      c.body.replace(/^_\(part \d\/2\)_\n\n/, "").replace(/\n\n<!--.*-->$/, ""),
    );
    assert.equal(text.join("\n"), long, "cut at a line break, nothing lost");
  });

  const cases: Array<{
    name: string;
    event: string;
    payload: () => Record<string, any>;
    number: number;
    tools: string[];
    preamble: RegExp;
  }> = [
    {
      name: "issues.opened",
      event: "issues",
      payload: () => example("issues", action("opened")),
      number: 1,
      tools: ["github_get_issue"],
      preamble: /Triage issue #1/,
    },
    {
      name: "issue_comment.created",
      event: "issue_comment",
      payload: () => example("issue_comment", action("created")),
      number: 1,
      tools: ["github_get_issue"],
      preamble: /commented on issue #1/,
    },
    {
      name: "pull_request.reopened",
      event: "pull_request",
      payload: () => example("pull_request", action("reopened")),
      number: 2,
      tools: ["github_get_pr"],
      preamble: /Review pull request #2/,
    },
    {
      name: "pull_request.ready_for_review",
      event: "pull_request",
      payload: () => example("pull_request", action("ready_for_review")),
      number: 2,
      tools: ["github_get_pr"],
      preamble: /Review pull request #2/,
    },
    {
      name: "pull_request_review.submitted (changes requested)",
      event: "pull_request_review",
      payload: () => {
        const p = example("pull_request_review", action("submitted"));
        p.review.state = "changes_requested";
        return p;
      },
      number: 2,
      tools: ["github_get_pr"],
      preamble: /requested changes on pull request #2/,
    },
    {
      name: "pull_request_review_comment.created",
      event: "pull_request_review_comment",
      payload: () => example("pull_request_review_comment", action("created")),
      number: 2,
      tools: ["github_get_pr"],
      preamble: /review comment on pull request #2/,
    },
  ];
  for (const c of cases) {
    test(`${c.name} → session github:${REPO}, answer on #${c.number}, tools ${c.tools}`, async () => {
      const answer = `answer for ${c.name} ${randomUUID()}`;
      const task = await run(c.event, c.payload(), { text: answer });
      assert.deepEqual(task.execution_config.tools, c.tools);
      assert.deepEqual(task.execution_config.skills, [SKILL]);
      assert.match(task.execution_config.system_preamble, c.preamble);
      assert.equal(task.dispatch_type, "github");
      const session = (await t.api("GET", `/api/v1/sessions/${task.session_id}`)).body;
      assert.equal(session.client_id, `github:${REPO}`);
      const stored = await t.app.store.tasks.get(task.id);
      assert.deepEqual(stored!.dispatchConfig, { type: "github", repo: REPO, number: c.number });
      const [comment] = await gh.waitForComments(REPO, c.number, answer);
      assert.ok(comment);
    });
  }

  test("github_get_issue: the issue with its recent comments, long ones cut, markers hidden", async () => {
    const total = gh.comments(REPO, 1).length;
    assert.ok(total >= 4, "human comments and earlier answers (with markers)");
    const task = await run(
      "issues",
      example("issues", action("opened")),
      { toolCalls: [{ name: "github_get_issue", args: { repo: REPO, number: 1 } }] },
      { text: "Triaged." },
    );
    assert.equal(task.status, "complete");
    const issue = toolResult(t, 1);
    assert.equal(issue.title, example("issues", action("opened")).issue.title);
    assert.equal(issue.is_pull_request, false);
    assert.equal(issue.comments_total, total);
    assert.equal(issue.comments.length, total);
    const bodies = issue.comments.map((c: any) => c.body);
    assert.ok(bodies.includes("First human comment: it happens on Linux."), bodies.join("\n"));
    const long = issue.comments.find((c: any) => c.author === "bob");
    assert.equal(long.truncated, true);
    assert.ok(long.body.length <= issue.limits.comment_chars);
    assert.ok(!JSON.stringify(issue).includes("<!-- switchyard-github"), "markers stripped");
  });

  test("tool errors come back to the model as readable objects and the turn completes", async () => {
    t.llm.reset();
    t.llm.enqueue(
      {
        toolCalls: [
          { name: "github_get_pr", args: { repo: REPO, number: 999 } },
          { name: "github_get_issue", args: { repo: "not a repo", number: 1 } },
          { name: "github_get_pr", args: { repo: "someone/else", number: 1 } },
        ],
      },
      { text: "Could not read it." },
    );
    const sid = await t.session(`github:${REPO}`);
    const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
      content: "look at #999",
      run_agent: true,
      notify: false,
      execution_config: { tools: ["github_get_pr", "github_get_issue"] },
    });
    const task = await t.waitForTask(r.body.task_id);
    assert.equal(task.status, "complete");
    const [missing, bad, other] = [0, 1, 2].map((i) => toolResult(t, 1, i));
    assert.equal(missing.status, 404);
    assert.match(
      missing.error,
      /GET \/repos\/Codertocat\/Hello-World\/pulls\/999: HTTP 404 Not Found/,
    );
    assert.deepEqual(bad, { error: 'repo must be "owner/name"', status: null });
    assert.match(other.error, /someone\/else is not in GITHUB_REPO_ALLOWLIST/);
    assert.ok(!JSON.stringify(t.llm.requests[1]!.messages).includes(TOKEN));
    assert.ok(!gh.requests.some((q) => q.pathname.includes("someone")), "nothing was read");
  });

  test("bad signatures: 401 and nothing stored (also malformed JSON with a bad signature)", async () => {
    const payload = JSON.stringify(example("issues", action("opened")));
    const before = await stored(t);
    const cases: Array<[string, string | null, string?]> = [
      ["missing", null],
      ["wrong secret", sign(payload, "another-secret")],
      ["zeros", `sha256=${"0".repeat(64)}`],
      ["sha1 form", `sha1=${createHmac("sha1", SECRET).update(payload).digest("hex")}`],
      ["upper-case hex", sign(payload).toUpperCase().replace("SHA256=", "sha256=")],
      ["truncated", sign(payload).slice(0, 40)],
      ["over another body", sign(`${payload} `)],
      ["malformed JSON, bad signature", sign("{}"), "{not json"],
    ];
    for (const [name, signature, body] of cases) {
      const r = await send(t, "issues", body ?? payload, { signature });
      assert.equal(r.status, 401, name);
      assert.deepEqual(r.body, { detail: "Unauthorized" }, name);
    }
    assert.deepEqual(await stored(t), before);
  });

  test("valid signature: malformed JSON, no X-GitHub-Event or no X-GitHub-Delivery → 400; form-encoded works", async () => {
    const before = await stored(t);
    assert.equal((await send(t, "issues", "{not json")).status, 400);
    assert.equal((await send(t, "issues", "[1, 2]")).status, 400);
    assert.equal((await send(t, null, example("issues", action("opened")))).status, 400);
    const noId = await send(t, "issues", example("issues", action("opened")), { delivery: null });
    assert.equal(noId.status, 400);
    assert.match(noId.body.detail, /X-GitHub-Delivery/);
    const form = `payload=${encodeURIComponent(JSON.stringify(example("ping")))}`;
    const r = await send(t, "ping", form, { contentType: "application/x-www-form-urlencoded" });
    assert.deepEqual(r.body, { status: "pong" });
    assert.deepEqual(await stored(t), before);
  });

  test("bot_self, unhandled events and actions, drafts and other repositories are ignored; nothing stored", async () => {
    const before = await stored(t);
    const fromBot = example("issue_comment", action("created"));
    fromBot.sender.login = BOT_LOGIN.toUpperCase();
    assert.deepEqual((await send(t, "issue_comment", fromBot)).body, {
      status: "ignored",
      reason: "bot_self",
    });
    const ownComment = example("issue_comment", action("created"));
    ownComment.comment.body = "Earlier answer\n\n<!-- switchyard-github delivery=x part=1/1 -->";
    assert.deepEqual((await send(t, "issue_comment", ownComment)).body, {
      status: "ignored",
      reason: "bot_self",
    });
    const ignored: Array<[string, Record<string, any>]> = [
      ["star", example("star", action("created"))],
      ["push", example("push")],
      ["pull_request", example("pull_request", action("closed"))],
      ["pull_request", example("pull_request", action("synchronize"))],
      ["issues", example("issues", action("edited"))],
      ["issue_comment", example("issue_comment", action("deleted"))],
      ["pull_request_review", example("pull_request_review", action("submitted"))], // commented
    ];
    for (const [event, payload] of ignored) {
      assert.deepEqual((await send(t, event, payload)).body, { status: "ignored", event });
    }
    const elsewhere = example("issues", action("opened"));
    elsewhere.repository.full_name = "someone/else";
    assert.deepEqual((await send(t, "issues", elsewhere)).body, {
      status: "ignored",
      reason: "repo_not_allowed",
      event: "issues",
    });
    assert.deepEqual(await stored(t), before);
  });

  test("duplicates: a redelivery and 20 concurrent copies store one message and one task", async () => {
    t.llm.reset();
    const payload = example("issues", action("opened"));
    const before = await stored(t);
    const id = randomUUID();
    const first = await send(t, "issues", payload, { delivery: id });
    assert.equal(first.body.status, "processed");
    assert.deepEqual((await send(t, "issues", payload, { delivery: id })).body, {
      status: "duplicate",
    });
    const raced = randomUUID();
    const copies = await Promise.all(
      Array.from({ length: 20 }, () => send(t, "issues", payload, { delivery: raced })),
    );
    assert.ok(copies.every((c) => c.status === 200));
    const processed = copies.filter((c) => c.body.status === "processed");
    assert.equal(processed.length, 1);
    assert.equal(copies.filter((c) => c.body.status === "duplicate").length, 19);
    assert.deepEqual(await stored(t), {
      messages: before.messages + 2,
      tasks: before.tasks + 2,
    });
    await t.waitForTask(first.body.task_id);
    await t.waitForTask(processed[0]!.body.task_id);
  });

  test("GITHUB_BOT_ID picks the bot that answers; an unknown bot is a 500 and nothing is stored", async () => {
    const bot = await t.api("POST", "/api/v1/admin/bots", {
      id: "reviewer",
      system_prompt: "You review code.",
      model: "openai-compatible:fake-model",
    });
    assert.equal(bot.status, 201, JSON.stringify(bot.body));
    const put = (v: string) =>
      t.api("PUT", "/api/v1/admin/integrations/github/settings", {
        settings: { GITHUB_BOT_ID: v },
      });
    try {
      assert.equal((await put("reviewer")).status, 200);
      const task = await run("issues", example("issues", action("opened")), { text: "Triaged." });
      assert.equal(task.bot_id, "reviewer");
      const session = (await t.api("GET", `/api/v1/sessions/${task.session_id}`)).body;
      assert.deepEqual([session.bot_id, session.client_id], ["reviewer", `github:${REPO}`]);

      assert.equal((await put("nobody")).status, 200);
      const before = await stored(t);
      const r = await send(t, "issues", example("issues", action("opened")));
      assert.equal(r.status, 500);
      assert.match(r.body.detail, /GITHUB_BOT_ID/);
      assert.deepEqual(await stored(t), before);
    } finally {
      assert.equal((await put("")).status, 200);
    }
  });

  test("the dispatcher refuses a repository outside GITHUB_REPO_ALLOWLIST: the delivery is dead with the reason", async () => {
    t.llm.reset();
    const sid = await t.session("github:someone/else");
    const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
      content: "answer there",
      run_agent: true,
      dispatch_config: { type: "github", repo: "someone/else", number: 1 },
    });
    const task = await t.waitForTask(r.body.task_id);
    assert.equal(task.status, "complete");
    const delivery = await settledDelivery(t, task.id);
    assert.equal(delivery.status, "dead");
    assert.equal(delivery.attempts, 1, "not retried");
    assert.match(delivery.last_error, /someone\/else is not in GITHUB_REPO_ALLOWLIST/);
    assert.ok(!gh.requests.some((q) => q.pathname.includes("someone")));

    const github = t.app.dispatchers.get("github");
    assert.equal(await github.postMessage({ repo: "someone/else", number: 1 }, "hi"), false);
    assert.equal(await github.postMessage({ repo: REPO, number: 1 }, "Standalone note N-1"), true);
    const [note] = await gh.waitForComments(REPO, 1, "Standalone note N-1");
    assert.match(note!.body, /<!-- switchyard-github -->$/);
  });

  test("a failed run posts nothing on GitHub (its error stays in switchyard)", async () => {
    t.llm.reset();
    t.llm.enqueue({ status: 400, body: { error: { message: "model refused INTERNAL-DETAIL" } } });
    const sid = await t.session(`github:${REPO}`);
    const posts = () => gh.requests.filter((q) => q.method === "POST").length;
    const before = posts();
    const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
      content: "this run fails",
      run_agent: true,
      dispatch_config: { type: "github", repo: REPO, number: 1 },
    });
    const task = await t.waitForTask(r.body.task_id);
    assert.equal(task.status, "failed");
    const delivery = await settledDelivery(t, task.id);
    assert.equal(delivery.status, "delivered");
    assert.equal(posts(), before, "no comment was posted");
    assert.ok(!gh.comments(REPO, 1).some((c) => c.body.includes("INTERNAL-DETAIL")));
  });

  test("scripts/github-replay.ts signs a payload file and posts it", async () => {
    const file = (name: string, payload: unknown) => {
      const p = join(dir.path, name);
      writeFileSync(p, JSON.stringify(payload, null, 2));
      return p;
    };
    const replay = (event: string, path: string, ...extra: string[]) =>
      runCommand(
        process.execPath,
        [
          join(ROOT, "scripts", "github-replay.ts"),
          "--url",
          `${t.url}/integrations/github/webhook`,
          "--event",
          event,
          ...extra,
          path,
        ],
        ROOT,
        { GITHUB_WEBHOOK_SECRET: SECRET },
      );
    const ping = await replay("ping", file("ping.json", example("ping")));
    assert.equal(ping.code, 0, ping.out + ping.err);
    assert.equal(ping.out.trim(), '200 {"status":"pong"}');

    t.llm.reset();
    const prFile = file("pr.json", example("pull_request", action("opened")));
    const id = randomUUID();
    const pr = await replay("pull_request", prFile, "--delivery", id);
    assert.equal(pr.code, 0, pr.out + pr.err);
    const m = /^200 (.*)$/.exec(pr.out.trim());
    const body = JSON.parse(m![1]!);
    assert.equal(body.status, "processed");
    await t.waitForTask(body.task_id);
    const again = await replay("pull_request", prFile, "--delivery", id);
    assert.equal(again.out.trim(), '200 {"status":"duplicate"}');

    const wrong = await replay("ping", file("ping2.json", example("ping")), "--secret", "nope");
    assert.equal(wrong.code, 1);
    assert.match(wrong.out, /^401 /);
  });
});

describe("GitHub webhook without GITHUB_WEBHOOK_SECRET", () => {
  let gh: FakeGithub;
  let t: TestApp;
  before(async () => {
    gh = await startFakeGithub();
    t = await startTestApp({ env: { GITHUB_API_URL: gh.url, GITHUB_TOKEN: TOKEN } });
  });
  after(async () => {
    await t.close();
    await gh.close();
  });

  test("fails closed: every delivery is 401, nothing is stored", async () => {
    assert.equal(t.app.integrations.get("github")!.status, "not_configured");
    for (const [event, payload] of [
      ["ping", example("ping")],
      ["issues", example("issues", action("opened"))],
    ] as const) {
      const r = await send(t, event, payload);
      assert.equal(r.status, 401, event);
      assert.deepEqual(r.body, { detail: "Unauthorized" });
    }
    assert.deepEqual(await stored(t), { messages: 0, tasks: 0 });
  });
});

for (const backend of ALL_BACKENDS) {
  describe(`GitHub delivery dedupe across a restart (${backend})`, runsOn(backend), () => {
    test("a redelivery after a restart creates nothing; 20 concurrent copies create one task", async () => {
      const gh = await startFakeGithub();
      seed(gh);
      const db = await createTestDatabase(backend);
      const env = { GITHUB_WEBHOOK_SECRET: SECRET, GITHUB_API_URL: gh.url, GITHUB_TOKEN: TOKEN };
      const payload = example("pull_request", action("opened"));
      const id = randomUUID();
      let t = await startTestApp({ backend, keepDb: db, env, tuning: TUNING });
      try {
        const copies = await Promise.all(
          Array.from({ length: 20 }, () => send(t, "pull_request", payload, { delivery: id })),
        );
        const processed = copies.filter((c) => c.body.status === "processed");
        assert.equal(processed.length, 1, JSON.stringify(copies.map((c) => c.body)));
        assert.equal(copies.filter((c) => c.body.status === "duplicate").length, 19);
        await t.waitForTask(processed[0]!.body.task_id);
        await settledDelivery(t, processed[0]!.body.task_id);
        const before = await stored(t);
        assert.deepEqual(before, { messages: 1, tasks: 1 });
        await t.close();

        t = await startTestApp({ backend, keepDb: db, env, tuning: TUNING });
        const again = await send(t, "pull_request", payload, { delivery: id });
        assert.deepEqual(again, { status: 200, body: { status: "duplicate" } });
        assert.deepEqual(await stored(t), before);
        assert.equal(gh.comments(REPO, 2).length, 1, "answered once");
      } finally {
        await t.close();
        await db.drop();
        await gh.close();
      }
    });
  });
}
