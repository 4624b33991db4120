/**
 * The Discord chat adapter (integrations/discord) over real HTTP on 127.0.0.1: interactions
 * signed with an Ed25519 key pair made here, replies through the outbox to a fake Discord
 * REST API (test/support/fake-discord.ts), on SQLite and PostgreSQL; and
 * `switchyard discord register-commands` through the real CLI.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import {
  APPLICATION_ID,
  BOT_TOKEN,
  dmCommand,
  guildCommand,
  makeKeyPair,
  ping,
  signInteraction,
} from "./fixtures/discord.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn, tempDir } from "./support/db.ts";
import { type FakeDiscord, startFakeDiscord } from "./support/fake-discord.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";

const ROOT = join(import.meta.dirname, "..");
const TUNING = { deliveryScheduleMs: [50, 50, 50], minBackoffAfterThrottleMs: 50, pollMs: 50 };
const keys = makeKeyPair();
const NO_MENTIONS = { parse: [] };

/** POSTs an interaction, signed with the run's key unless told otherwise. */
async function interact(
  t: TestApp,
  payload: unknown,
  o: { ts?: number; signature?: string | null; key?: typeof keys } = {},
) {
  const body = JSON.stringify(payload);
  const ts = String(o.ts ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.signature !== null) {
    headers["x-signature-timestamp"] = ts;
    headers["x-signature-ed25519"] =
      o.signature ?? signInteraction((o.key ?? keys).privateKey, ts, body);
  }
  const res = await fetch(`${t.url}/integrations/discord/interactions`, {
    method: "POST",
    headers,
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The (latest) task of the conversation of interaction `cmd` (by its session's client id). */
async function taskOf(t: TestApp, cmd: { guild_id?: string; channel_id: string }): Promise<string> {
  const prefix = `discord:${cmd.guild_id ?? ""}:${cmd.channel_id}`;
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const page = (await t.api("GET", `/api/v1/tasks?client_id=${encodeURIComponent(prefix)}`)).body;
    const list = (page.items ?? page.tasks ?? page.data ?? page) as any[];
    if (Array.isArray(list) && list[0]) return list[0].id;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no task for ${prefix}`);
}

/** Waits until every delivery of the task settled; returns them. */
async function settled(t: TestApp, taskId: string): Promise<any[]> {
  await t.waitForTask(taskId);
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const list = (await t.api("GET", `/api/v1/deliveries?task_id=${taskId}&target_type=discord`))
      .body as any[];
    if (list.length && list.every((d) => d.status === "delivered" || d.status === "dead"))
      return list;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`deliveries of ${taskId} did not settle`);
}

/** Every row of every table, as text (to look for a string anywhere in the database). */
async function databaseText(t: TestApp): Promise<string> {
  if (t.db.kind === "sqlite") {
    const file = t.db.url.slice("sqlite:".length);
    return [file, `${file}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString("latin1"))
      .join("\n");
  }
  const c = new pg.Client({ connectionString: t.db.url });
  await c.connect();
  try {
    const tables = await c.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    let out = "";
    for (const { table_name } of tables.rows) {
      const rows = await c.query(`SELECT t::text AS row FROM "${table_name}" t`);
      out += rows.rows.map((r) => r.row).join("\n");
    }
    return out;
  } finally {
    await c.end();
  }
}

for (const backend of ALL_BACKENDS) {
  describe(`discord adapter (${backend})`, runsOn(backend), () => {
    let llm: FakeLlm;
    let discord: FakeDiscord;
    let t: TestApp;
    const env = () => ({
      DISCORD_PUBLIC_KEY: keys.publicKeyHex,
      DISCORD_BOT_TOKEN: BOT_TOKEN,
      DISCORD_APPLICATION_ID: APPLICATION_ID,
      DISCORD_API_URL: discord.url,
    });

    before(async () => {
      llm = await startFakeLlm();
      discord = await startFakeDiscord({ botToken: BOT_TOKEN });
      t = await startTestApp({ backend, llm, env: env(), tuning: TUNING });
    });
    after(async () => {
      await t?.close();
      await discord?.close();
      await llm?.close();
    });

    const reset = () => {
      discord.reset();
      llm.reset();
    };

    test("signature: a good one passes; wrong, malformed, missing and stale ones get 401 and store nothing", async () => {
      reset();
      const cmd = guildCommand();
      const other = makeKeyPair();
      const now = Math.floor(Date.now() / 1000);
      assert.equal((await interact(t, cmd, { key: other })).status, 401, "another key");
      assert.equal((await interact(t, cmd, { signature: "ab".repeat(64) })).status, 401);
      assert.equal((await interact(t, cmd, { signature: "zz".repeat(64) })).status, 401);
      assert.equal((await interact(t, cmd, { signature: null })).status, 401, "missing");
      assert.equal((await interact(t, cmd, { ts: now - 310 })).status, 401, "stale");
      assert.equal((await interact(t, cmd, { ts: now + 310 })).status, 401, "from the future");
      // The signature covers the body: the same headers over another body fail.
      const ts = String(now);
      const sig = signInteraction(keys.privateKey, ts, JSON.stringify(cmd));
      const tampered = await fetch(`${t.url}/integrations/discord/interactions`, {
        method: "POST",
        headers: { "x-signature-timestamp": ts, "x-signature-ed25519": sig },
        body: JSON.stringify({ ...cmd, channel_id: "1" }),
      });
      assert.equal(tampered.status, 401);
      assert.ok(!(await databaseText(t)).includes(cmd.channel_id), "nothing stored");
      assert.equal(llm.requests.length, 0);
      const ok = await interact(t, cmd, { ts: now - 250 });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { type: 5 });
      await settled(t, await taskOf(t, cmd));
    });

    test("PING is answered with PONG only after the signature check", async () => {
      reset();
      assert.equal((await interact(t, ping(), { signature: null })).status, 401);
      assert.equal((await interact(t, ping(), { key: makeKeyPair() })).status, 401);
      const r = await interact(t, ping());
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { type: 1 });
    });

    test("/ask is deferred at once, then answered by exactly one edit of @original", async () => {
      reset();
      const cmd = guildCommand({ prompt: "hi bot @everyone" });
      const r = await interact(t, cmd);
      assert.deepEqual(r.body, { type: 5 });
      const taskId = await taskOf(t, cmd);
      await settled(t, taskId);
      assert.equal(discord.messages.length, 1, JSON.stringify(discord.messages));
      const [m] = discord.messages;
      assert.equal(m!.via, "original");
      assert.equal(m!.token, cmd.token);
      assert.equal(m!.content, "echo: hi bot @everyone");
      assert.deepEqual(m!.body.allowed_mentions, NO_MENTIONS, "nothing pings");
      const patch = discord.requests.find((x) => x.method === "PATCH")!;
      assert.equal(patch.pathname, `/webhooks/${APPLICATION_ID}/${cmd.token}/messages/@original`);
      assert.ok(!discord.requests.some((x) => x.pathname.endsWith("/typing")), "no typing");
      // The user's words reached the model as a user message.
      const sent = llm.requests.at(-1)!.messages as Array<{ role: string; content: unknown }>;
      assert.ok(
        sent.some((x) => x.role === "user" && JSON.stringify(x.content).includes("hi bot")),
      );
      const task = (await t.api("GET", `/api/v1/tasks/${taskId}`)).body;
      assert.equal(task.dispatch_config.reply_to, cmd.id);
      assert.deepEqual(task.dispatch_config.conversation, {
        team: cmd.guild_id,
        channel: cmd.channel_id,
      });
    });

    test("a DM interaction (no guild) runs and is answered", async () => {
      reset();
      const cmd = dmCommand({ prompt: "in private" });
      const r = await interact(t, cmd);
      assert.deepEqual(r.body, { type: 5 });
      const taskId = await taskOf(t, cmd);
      await settled(t, taskId);
      assert.deepEqual(
        discord.messages.map((m) => [m.via, m.content]),
        [["original", "echo: in private"]],
      );
      const task = (await t.api("GET", `/api/v1/tasks/${taskId}`)).body;
      assert.deepEqual(task.dispatch_config.conversation, { channel: cmd.channel_id });
    });

    test("the same interaction id twice runs one turn and gets one reply", async () => {
      reset();
      const cmd = guildCommand();
      const [a, b] = [await interact(t, cmd), await interact(t, cmd)];
      assert.deepEqual(a.body, { type: 5 });
      assert.deepEqual(b.body, { type: 5 });
      await settled(t, await taskOf(t, cmd));
      assert.equal(llm.requests.length, 1);
      assert.equal(discord.messages.length, 1);
    });

    test("Discord answering 500 once still gives one reply", async () => {
      reset();
      discord.failNext({ method: "PATCH", path: /@original$/, status: 500 });
      const cmd = guildCommand();
      await interact(t, cmd);
      const list = await settled(t, await taskOf(t, cmd));
      assert.ok(list.every((d) => d.status === "delivered"));
      assert.equal(discord.requests.filter((x) => x.method === "PATCH").length, 2, "retried");
      assert.equal(discord.messages.length, 1);
    });

    test("a token Discord refuses (404) falls back to the channel, where a lost answer is not posted twice (nonce)", async () => {
      reset();
      discord.failNext({
        method: "PATCH",
        path: /@original$/,
        status: 404,
        body: { message: "Unknown Webhook", code: 10015 },
      });
      // The post is made but its answer is lost, on all 3 inline tries: the outbox tries again.
      discord.failNext({
        method: "POST",
        path: /\/messages$/,
        status: 502,
        afterCreate: true,
        times: 3,
      });
      const cmd = guildCommand({ prompt: "fallback" });
      await interact(t, cmd);
      const list = await settled(t, await taskOf(t, cmd));
      assert.ok(
        list.every((d) => d.status === "delivered"),
        JSON.stringify(list),
      );
      const posts = discord.requests.filter((x) => x.pathname.endsWith("/messages"));
      assert.equal(posts.length, 4, "3 lost answers, then the outbox's retry");
      assert.equal(new Set(posts.map((p) => p.json.nonce)).size, 1, "one nonce");
      assert.deepEqual(
        discord.messages.map((m) => [m.via, m.channel, m.content]),
        [["channel", cmd.channel_id, "echo: fallback"]],
      );
    });

    test("a long reply is split at 2,000: the first part edits @original, the rest are follow-ups", async () => {
      reset();
      const words = Array.from({ length: 900 }, (_, i) => `word${i}`);
      llm.enqueue({ text: words.join(" ") });
      // The second follow-up fails (3 tries inline): the outbox's retry of the reply must not
      // post the first follow-up again.
      discord.failNext({ method: "POST", path: /^\/webhooks\//, status: 500, skip: 1, times: 3 });
      const cmd = guildCommand();
      await interact(t, cmd);
      await settled(t, await taskOf(t, cmd));
      const msgs = discord.messages;
      assert.ok(msgs.length >= 4, `${msgs.length} parts`);
      assert.equal(discord.requests.filter((x) => x.method === "POST").length, msgs.length - 1 + 3);
      assert.equal(msgs[0]!.via, "original");
      assert.ok(msgs.slice(1).every((m) => m.via === "followup" && m.token === cmd.token));
      for (const m of msgs) {
        assert.ok(m.content.length <= 2000, `part of ${m.content.length} chars`);
        assert.deepEqual(m.body.allowed_mentions, NO_MENTIONS);
      }
      assert.equal(msgs.map((m) => m.content).join(" "), words.join(" "));
    });

    test("/new starts a fresh session; its notice edits the deferred ephemeral answer", async () => {
      reset();
      const channel = guildCommand().channel_id;
      const first = guildCommand({ channel, prompt: "remember me" });
      await interact(t, first);
      const firstTask = (await t.api("GET", `/api/v1/tasks/${await taskOf(t, first)}`)).body;
      await settled(t, firstTask.id);
      const fresh = guildCommand({ channel, name: "new" });
      const r = await interact(t, fresh);
      assert.deepEqual(r.body, { type: 5, data: { flags: 64 } });
      const [notice] = await discord.waitFor((m) => m.some((x) => x.token === fresh.token));
      assert.ok(notice);
      const m = discord.messages.find((x) => x.token === fresh.token)!;
      assert.equal(m.via, "original");
      assert.equal(m.content, "Started a new session.");
      const old = (await t.api("GET", `/api/v1/sessions/${firstTask.session_id}`)).body;
      assert.ok(old.ended_at, "the old session is ended");
      assert.equal(llm.requests.length, 1, "/new runs no turn");
    });

    test("the interaction token is never in the database nor the transcript", async () => {
      reset();
      const cmd = guildCommand({ prompt: "keep it secret" });
      await interact(t, cmd);
      const taskId = await taskOf(t, cmd);
      const list = await settled(t, taskId);
      assert.equal(discord.messages[0]!.token, cmd.token, "the token was used");
      const dump = await databaseText(t);
      assert.ok(dump.includes(cmd.channel_id), "the dump holds this interaction's rows");
      assert.ok(!dump.includes(cmd.token), "token in the database");
      const task = (await t.api("GET", `/api/v1/tasks/${taskId}`)).body;
      const transcript = await t.api("GET", `/api/v1/sessions/${task.session_id}/messages`);
      assert.equal(transcript.status, 200);
      assert.ok(JSON.stringify(transcript.body).includes("keep it secret"));
      assert.ok(!JSON.stringify(transcript.body).includes(cmd.token), "token in the transcript");
      for (const d of list) {
        const one = await t.api("GET", `/api/v1/deliveries/${d.id}`);
        assert.ok(!JSON.stringify(one.body).includes(cmd.token), "token in a delivery");
      }
    });

    test("after a restart: a redelivery runs no second turn, and the reply goes to the channel with the bot token", async () => {
      reset();
      const db = await createTestDatabase(backend);
      const llm2 = await startFakeLlm();
      const cmd = guildCommand({ prompt: "survive a restart" });
      try {
        let deliveryId: string;
        {
          // Discord refuses the webhook for good (403) here, so the reply is left unsent.
          discord.failNext({ path: /^\/webhooks\//, status: 403, times: 100 });
          const a = await startTestApp({
            backend,
            llm: llm2,
            env: env(),
            tuning: TUNING,
            keepDb: db,
          });
          try {
            assert.deepEqual((await interact(a, cmd)).body, { type: 5 });
            const list = await settled(a, await taskOf(a, cmd));
            const reply = list.find((d) => d.status === "dead");
            assert.ok(reply, JSON.stringify(list));
            deliveryId = reply.id;
          } finally {
            await a.app.stop();
          }
        }
        discord.reset();
        const b = await startTestApp({
          backend,
          llm: llm2,
          env: env(),
          tuning: TUNING,
          keepDb: db,
        });
        try {
          const replay = await b.api("POST", `/api/v1/deliveries/${deliveryId}/replay`);
          assert.ok(replay.status < 300, JSON.stringify(replay.body));
          const [m] = await discord.waitFor((x) => x.length > 0);
          assert.equal(m!.via, "channel");
          assert.equal(m!.channel, cmd.channel_id);
          assert.equal(m!.content, "echo: survive a restart");
          const post = discord.requests.find((x) => x.pathname.endsWith("/messages"))!;
          assert.equal(post.headers.authorization, `Bot ${BOT_TOKEN}`);
          assert.equal(post.json.enforce_nonce, true);
          assert.match(post.json.nonce, /^[\w-]{25}$/);
          assert.deepEqual(post.json.allowed_mentions, NO_MENTIONS);
          assert.ok(!discord.requests.some((x) => x.pathname.startsWith("/webhooks/")));
          // Discord sending the interaction again runs no second turn.
          assert.deepEqual((await interact(b, cmd)).body, { type: 5 });
          assert.equal(llm2.requests.length, 1, "one turn");
        } finally {
          await b.app.stop();
        }
      } finally {
        await llm2.close();
        await db.drop();
      }
    });
  });
}

/** Runs the real CLI (`src/main.ts`) with only `env`; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string>) {
  const dir = tempDir();
  const proc = spawn(process.execPath, [join(ROOT, "src/main.ts"), ...args], {
    cwd: dir.path,
    env: { PATH: process.env.PATH ?? "", SWITCHYARD_DATA_DIR: dir.path, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => {
    stdout += d;
  });
  proc.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    proc.on("exit", (code) => {
      dir.remove();
      resolve({ code, stdout, stderr });
    }),
  );
}

describe("switchyard <folder> <command>", () => {
  let discord: FakeDiscord;
  before(async () => {
    discord = await startFakeDiscord({ botToken: BOT_TOKEN });
  });
  after(async () => discord?.close());
  const env = (extra: Record<string, string> = {}) => ({
    DISCORD_API_URL: discord.url,
    DISCORD_BOT_TOKEN: BOT_TOKEN,
    DISCORD_APPLICATION_ID: APPLICATION_ID,
    DISCORD_PUBLIC_KEY: keys.publicKeyHex,
    SWITCHYARD_ALLOW_PRIVATE_URLS: "true",
    ...extra,
  });

  test("discord register-commands overwrites the global commands with /ask and /new", async () => {
    discord.reset();
    const r = await cli(["discord", "register-commands"], env());
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      discord.commandPuts.map((p) => p.pathname),
      [`/applications/${APPLICATION_ID}/commands`],
    );
    const [put] = discord.commandPuts;
    assert.deepEqual(
      put!.commands.map((c) => c.name),
      ["ask", "new"],
    );
    assert.deepEqual(put!.commands[0].options, [
      { type: 3, name: "prompt", description: "What to ask", required: true, max_length: 6000 },
      { type: 11, name: "file", description: "A file for the bot", required: false },
    ]);
    assert.equal(discord.requests[0]!.headers.authorization, `Bot ${BOT_TOKEN}`);
    assert.match(r.stdout, /Registered 2 commands globally/);
    assert.match(r.stdout, /\/ask/);
    assert.match(r.stdout, /\/new/);
    assert.ok(!r.stdout.includes(BOT_TOKEN) && !r.stderr.includes(BOT_TOKEN));
  });

  test("with DISCORD_GUILD_ID the commands go to that guild", async () => {
    discord.reset();
    const r = await cli(["discord", "register-commands"], env({ DISCORD_GUILD_ID: "42" }));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      discord.commandPuts.map((p) => p.pathname),
      [`/applications/${APPLICATION_ID}/guilds/42/commands`],
    );
    assert.match(r.stdout, /in guild 42/);
  });

  test("Discord refusing the token fails with exit 1 and no secret in the message", async () => {
    discord.reset();
    const r = await cli(["discord", "register-commands"], env({ DISCORD_BOT_TOKEN: "wrong" }));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /register commands: HTTP 401/);
    assert.ok(!r.stderr.includes("wrong"));
  });

  test("an unknown folder or command exits 2 and lists what exists", async () => {
    const r = await cli(["nosuch", "cmd"], env());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'nosuch'/);
    assert.match(r.stderr, /switchyard discord <command>/);
    const c = await cli(["discord", "nosuch"], env());
    assert.equal(c.code, 2);
    assert.match(c.stderr, /unknown command 'nosuch'/);
    assert.match(c.stderr, /switchyard discord register-commands/);
    const none = await cli(["discord"], env());
    assert.equal(none.code, 2);
    assert.match(none.stderr, /register-commands/);
  });
});
