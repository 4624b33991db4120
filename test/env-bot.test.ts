/**
 * Issue 11 item 1: the `default` bot follows SWITCHYARD_MODEL at every start until someone
 * edits it through the admin API (then the API value stays); GET /admin/bots says who owns
 * each bot; the banner and `doctor` probe the models the bots actually use and name the
 * bot whose endpoint does not answer. Turns run against fake LLMs on 127.0.0.1, one per
 * model, so the endpoint a turn reaches is observed directly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Store } from "../src/store/index.ts";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import {
  ALL_BACKENDS,
  createTestDatabase,
  runsOn,
  type TestDatabase,
  tempDir,
} from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import { runCommand } from "./support/run.ts";
import { startServerProcess, testServerEnv } from "./support/serve-process.ts";

const ROOT = join(import.meta.dirname, "..");

/** Runs one agent turn on the default bot; resolves with the finished task. */
async function turn(t: TestApp, clientId: string): Promise<any> {
  const sid = await t.session(clientId);
  const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
    content: "which model?",
    run_agent: true,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return t.waitForTask(r.body.task_id);
}

const defaultBot = async (t: TestApp) =>
  (await t.api("GET", "/api/v1/admin/bots")).body.find((b: any) => b.id === "default");

for (const backend of ALL_BACKENDS) {
  describe(
    `the default bot follows the environment until the API edits it (${backend})`,
    runsOn(backend),
    () => {
      let a: FakeLlm;
      let b: FakeLlm;
      let c: FakeLlm;
      let db: TestDatabase;
      before(async () => {
        [a, b, c] = await Promise.all([startFakeLlm(), startFakeLlm(), startFakeLlm()]);
        db = await createTestDatabase(backend);
      });
      after(async () => {
        await Promise.all([a.close(), b.close(), c.close()]);
        await db.drop();
      });

      test("model A, then B after a restart; an API edit then survives a restart with C", async () => {
        // A: Ollama's OpenAI-compatible API, served by fake A.
        const ollamaA = {
          SWITCHYARD_MODEL: "ollama:model-a",
          OLLAMA_BASE_URL: a.baseUrl.replace(/\/v1$/, ""),
        };
        let t = await startTestApp({ keepDb: db, llm: b, env: ollamaA });
        try {
          const bot = await defaultBot(t);
          assert.equal(bot.model, "ollama:model-a");
          assert.equal(bot.managed_by, "env");
          assert.equal((await turn(t, "env-a")).status, "complete");
          assert.equal(a.requests.at(-1)?.model, "model-a");
        } finally {
          await t.close();
        }

        // B: an OpenAI-compatible server (fake B); Ollama still answers at A, so a bot left
        // on A would complete its turn there instead of failing.
        a.reset();
        t = await startTestApp({
          keepDb: db,
          llm: b,
          env: { ...ollamaA, SWITCHYARD_MODEL: "openai-compatible:model-b" },
        });
        try {
          const bot = await defaultBot(t);
          assert.equal(bot.model, "openai-compatible:model-b");
          assert.equal(bot.managed_by, "env");
          assert.equal((await turn(t, "env-b")).status, "complete");
          assert.deepEqual(
            b.requests.map((r) => r.model),
            ["model-b"],
          );
          assert.equal(a.requests.length, 0, "the old model's endpoint is not called");

          const edited = await t.api("PUT", "/api/v1/admin/bots/default", {
            model: "openai-compatible:model-api",
          });
          assert.equal(edited.status, 200, JSON.stringify(edited.body));
          assert.equal(edited.body.managed_by, "api");
        } finally {
          await t.close();
        }

        // C: the environment changes again, but the bot now belongs to the API.
        b.reset();
        t = await startTestApp({
          keepDb: db,
          llm: b,
          env: {
            SWITCHYARD_MODEL: "ollama:model-c",
            OLLAMA_BASE_URL: c.baseUrl.replace(/\/v1$/, ""),
          },
        });
        try {
          const bot = await defaultBot(t);
          assert.equal(bot.model, "openai-compatible:model-api");
          assert.equal(bot.managed_by, "api");
          assert.equal((await turn(t, "env-c")).status, "complete");
          assert.deepEqual(
            b.requests.map((r) => r.model),
            ["model-api"],
          );
          assert.equal(c.requests.length, 0);
        } finally {
          await t.close();
        }
      });

      test("bots created through the API are API-owned", async () => {
        const t = await startTestApp({ backend });
        try {
          const r = await t.api("POST", "/api/v1/admin/bots", { id: "helper" });
          assert.equal(r.status, 201);
          assert.equal(r.body.managed_by, "api");
        } finally {
          await t.close();
        }
      });
    },
  );
}

describe("the banner and doctor probe every bot's model and name the failing bot", () => {
  const dir = tempDir("switchyard-env-bot-");
  let llm: FakeLlm;
  let env: Record<string, string>;
  before(async () => {
    llm = await startFakeLlm();
    env = {
      ...testServerEnv({
        dataDir: dir.path,
        databaseUrl: `sqlite:${join(dir.path, "sy.db")}`,
        llmBaseUrl: llm.baseUrl,
        apiKey: TEST_API_KEY,
      }),
      // Nothing listens on port 9: Ollama is down.
      OLLAMA_BASE_URL: "http://127.0.0.1:9",
      SWITCHYARD_LOG_LEVEL: "warn",
    };
    const store = await Store.open(env.DATABASE_URL!);
    try {
      await store.bots.create({ id: "reviewer", model: "ollama:llama3.2" });
      await store.bots.create({ id: "twin", model: "ollama:other" });
    } finally {
      await store.close();
    }
  });
  after(async () => {
    await llm.close();
    dir.remove();
  });

  test("doctor fails naming the bot whose endpoint does not answer; the default bot's model is fine", async () => {
    const r = await runCommand(join(ROOT, "bin/switchyard"), ["doctor"], dir.path, env);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(
      r.out,
      /model:\s+ok \(openai-compatible:fake-model at http:\/\/127\.0\.0\.1:\d+\/v1; bot "default"\)/,
    );
    assert.match(
      r.out,
      /model:\s+FAILED: bot "reviewer" ollama:llama3\.2 — endpoint not answering: .*127\.0\.0\.1:9/,
    );
    assert.match(r.out, /bot "twin" ollama:other — endpoint not answering/);
  });

  test("the banner says which bot's endpoint is not answering", async () => {
    const server = await startServerProcess(env);
    try {
      await new Promise<void>((resolve, reject) => {
        const until = Date.now() + 10_000;
        const poll = () => {
          if (/bot "twin"/.test(server.output())) return resolve();
          if (Date.now() > until) return reject(new Error(server.output()));
          setTimeout(poll, 20);
        };
        poll();
      });
      const out = server.output();
      assert.match(
        out,
        /model:\s+bot "reviewer" ollama:llama3\.2 — endpoint not answering: .*127\.0\.0\.1:9/,
      );
      assert.match(
        out,
        /model:\s+openai-compatible:fake-model \(endpoint answers: .*; bot "default"\)/,
      );
    } finally {
      await server.stop();
    }
  });
});
