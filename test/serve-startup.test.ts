/**
 * What a new user meets first: an unknown command gets the help and exit 2; a port that
 * is taken stops `serve` before anything is written to the database; `GET /` is a small
 * page saying what runs and where to go next; logs are human-readable lines or JSON as
 * `SWITCHYARD_LOG_FORMAT` says, beside the banner.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { VERSION } from "../src/app.ts";
import { logFormat } from "../src/lib/logger.ts";
import { startTestApp } from "./support/app.ts";
import { ALL_BACKENDS, createTestDatabase, runsOn, tempDir } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import { runCommand } from "./support/run.ts";
import { killServerProcesses, startServerProcess, testServerEnv } from "./support/serve-process.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin/switchyard");

test("an unknown command prints the help and exits 2", async () => {
  const dir = tempDir();
  try {
    const r = await runCommand(BIN, ["frobnicate"], dir.path, {
      SWITCHYARD_DATA_DIR: dir.path,
    });
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /unknown command 'frobnicate'/);
    assert.match(r.err, /Usage: switchyard/);
    assert.match(r.err, /serve/);
    assert.doesNotMatch(r.err, /too many arguments/);
    assert.equal(existsSync(join(dir.path, "switchyard.db")), false, "nothing was started");
  } finally {
    dir.remove();
  }
});

for (const backend of ALL_BACKENDS) {
  test(
    `on ${backend}, a port already taken stops serve before the database, key or bot is written`,
    runsOn(backend),
    async () => {
      const dir = tempDir();
      const db = await createTestDatabase(backend);
      const taken: Server = createServer();
      await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
      const port = (taken.address() as { port: number }).port;
      try {
        const dataDir = join(dir.path, "data");
        const r = await runCommand(BIN, ["serve"], dir.path, {
          PORT: String(port),
          HOST: "127.0.0.1",
          SWITCHYARD_DATA_DIR: dataDir,
          ...(backend === "postgres" ? { DATABASE_URL: db.url } : {}),
          SWITCHYARD_LOG_LEVEL: "warn",
        });
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.err, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
        assert.equal(existsSync(join(dataDir, "api-key")), false, "no API key file");
        if (backend === "sqlite") {
          assert.equal(existsSync(join(dataDir, "switchyard.db")), false, "no database file");
        } else {
          const c = new pg.Client({ connectionString: db.url });
          await c.connect();
          try {
            const t = await c.query(
              "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
            );
            assert.deepEqual(t.rows, [], "no tables");
          } finally {
            await c.end();
          }
        }
      } finally {
        await new Promise((r) => taken.close(r));
        await db.drop();
        dir.remove();
      }
    },
  );

  describe(`GET / and /about on ${backend}`, runsOn(backend), () => {
    test("/ redirects to the admin UI; /about is the small page: version, health, where the generated API key is (never the key), the OpenAPI link", async () => {
      // No SWITCHYARD_API_KEY: one is generated into <data dir>/api-key.
      const t = await startTestApp({ backend, env: { SWITCHYARD_API_KEY: "" } });
      try {
        const root = await fetch(`${t.url}/`, { redirect: "manual" });
        assert.equal(root.status, 302);
        assert.equal(root.headers.get("location"), "/admin");
        const ui = await fetch(`${t.url}/admin`);
        assert.equal(ui.status, 200);
        assert.match(await ui.text(), /href="\/about"/, "the sign-in page links to /about");
        const res = await fetch(`${t.url}/about`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
        const html = await res.text();
        assert.ok(html.includes(VERSION), "the version");
        assert.match(html, /database answers|ready/i);
        assert.match(html, /href="\/api\/v1\/openapi\.json"/);
        const keyFile = t.app.apiKey.path!;
        assert.ok(html.includes(keyFile), "where the key is");
        const key = readFileSync(keyFile, "utf8").trim();
        assert.ok(!html.includes(key), "never the key");
        const doc = (await t.api("GET", "/api/v1/openapi.json")).body;
        assert.ok(doc.paths["/"], "the redirect is in the OpenAPI document");
        assert.ok(doc.paths["/about"], "the page is in the OpenAPI document");
        assert.match(html, /href="\/admin"/, "the page links to the admin UI");
      } finally {
        await t.close();
      }
    });

    test("with SWITCHYARD_API_KEY set, the page says so and shows no key", async () => {
      const t = await startTestApp({ backend });
      try {
        const html = await (await fetch(`${t.url}/about`)).text();
        assert.match(html, /SWITCHYARD_API_KEY/);
        assert.ok(!html.includes(t.app.config.SWITCHYARD_API_KEY!), "never the key");
      } finally {
        await t.close();
      }
    });
  });
}

test("log format: auto is pretty on a terminal and JSON otherwise; pretty and json force it", () => {
  assert.equal(logFormat("auto", true), "pretty");
  assert.equal(logFormat("auto", false), "json");
  assert.equal(logFormat("pretty", false), "pretty");
  assert.equal(logFormat("json", true), "json");
});

describe("log lines of a real serve process", () => {
  let llm: FakeLlm;
  const dir = tempDir();
  before(async () => {
    llm = await startFakeLlm();
  });
  after(async () => {
    await killServerProcesses();
    await llm.close();
    dir.remove();
  });
  const serve = (format?: string) =>
    startServerProcess({
      ...testServerEnv({
        dataDir: dir.path,
        databaseUrl: `sqlite:${dir.path}/logs.db`,
        llmBaseUrl: llm.baseUrl,
        apiKey: "log-format-key-0123456789",
      }),
      SWITCHYARD_LOG_LEVEL: "info",
      ...(format ? { SWITCHYARD_LOG_FORMAT: format } : {}),
    });
  /** The line that logs the skill sync, a record every start writes at info level. */
  const syncLine = (output: string) => output.split("\n").find((l) => l.includes("skills synced"));

  test("json (and the default when stdout is not a terminal): one JSON object a line", async () => {
    for (const format of ["json", undefined]) {
      const s = await serve(format);
      await s.stop();
      const line = syncLine(s.output());
      assert.ok(line, s.output());
      const rec = JSON.parse(line.replace(/^stdout:\n?/, ""));
      assert.equal(rec.msg, "skills synced");
      assert.equal(rec.level, 30);
      assert.match(s.output(), /listening on http:\/\/127\.0\.0\.1:\d+\n {2}database:/);
    }
  });

  test("pretty: a human-readable line (time, level, message, fields), the banner unchanged", async () => {
    const s = await serve("pretty");
    await s.stop();
    const line = syncLine(s.output());
    assert.ok(line, s.output());
    assert.throws(() => JSON.parse(line), "not JSON");
    assert.match(line, /^\d{2}:\d{2}:\d{2}\.\d{3} INFO {1,2}skills synced .*added=\d+/);
    assert.ok(!line.includes("\u001b["), "no colours when not on a terminal");
    assert.match(s.output(), /listening on http:\/\/127\.0\.0\.1:\d+\n {2}database:/);
  });
});
