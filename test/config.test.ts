/** Configuration: defaults, .env, and invalid values that name the variable. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfig, redactDatabaseUrl } from "../src/config.ts";
import { tempDir } from "./support/db.ts";

test("defaults", () => {
  const dir = tempDir();
  try {
    const c = loadConfig({}, dir.path);
    assert.equal(c.PORT, 8080);
    assert.equal(c.HOST, "127.0.0.1");
    assert.equal(c.SWITCHYARD_MODEL, "ollama:llama3.2");
    assert.equal(c.OLLAMA_BASE_URL, "http://127.0.0.1:11434");
    assert.equal(c.TASK_MAX_RUN_SECONDS, 1200);
    assert.equal(c.SWITCHYARD_WORKER_CONCURRENCY, 16);
    assert.equal(c.SWITCHYARD_ALLOW_PRIVATE_URLS, false);
    assert.equal(c.SWITCHYARD_DELIVERY_SCHEDULE_SECONDS, undefined, "the outbox's own default");
    assert.deepEqual(
      loadConfig({ SWITCHYARD_DELIVERY_SCHEDULE_SECONDS: "0.5, 60,3600" }, dir.path)
        .SWITCHYARD_DELIVERY_SCHEDULE_SECONDS,
      [0.5, 60, 3600],
    );
    assert.equal(c.dataDir, join(dir.path, "data"));
    assert.equal(c.databaseUrl, `sqlite:${join(dir.path, "data", "switchyard.db")}`);
  } finally {
    dir.remove();
  }
});

test(".env is read and the environment wins over it", () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, ".env"), "PORT=9090\nSWITCHYARD_WORKER_CONCURRENCY=4\n");
    const c = loadConfig({ PORT: "7070" }, dir.path);
    assert.equal(c.PORT, 7070);
    assert.equal(c.SWITCHYARD_WORKER_CONCURRENCY, 4);
  } finally {
    dir.remove();
  }
});

test("invalid values stop the start with a message naming each variable", () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: "eighty" }, /PORT/],
    [{ PORT: "70000" }, /PORT/],
    [{ SWITCHYARD_MODEL: "gpt-4" }, /SWITCHYARD_MODEL: expected provider:model/],
    [{ SWITCHYARD_MODEL: "mistral:7b" }, /SWITCHYARD_MODEL/],
    [{ SWITCHYARD_ALLOW_PRIVATE_URLS: "maybe" }, /SWITCHYARD_ALLOW_PRIVATE_URLS/],
    [{ TASK_MAX_RUN_SECONDS: "0" }, /TASK_MAX_RUN_SECONDS/],
    [{ OLLAMA_BASE_URL: "not a url" }, /OLLAMA_BASE_URL/],
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL/],
    [{ SWITCHYARD_DELIVERY_SCHEDULE_SECONDS: "5,soon" }, /SWITCHYARD_DELIVERY_SCHEDULE_SECONDS/],
    [{ SWITCHYARD_DELIVERY_SCHEDULE_SECONDS: "5,0" }, /SWITCHYARD_DELIVERY_SCHEDULE_SECONDS/],
  ];
  for (const [env, re] of bad) {
    assert.throws(
      () => loadConfig(env, "/tmp"),
      (err: Error) => err instanceof ConfigError && re.test(err.message),
    );
  }
});

test("a short SWITCHYARD_API_KEY is refused without echoing it", () => {
  assert.throws(
    () => loadConfig({ SWITCHYARD_API_KEY: "hunter2" }, "/tmp"),
    (err: Error) => /SWITCHYARD_API_KEY/.test(err.message) && !err.message.includes("hunter2"),
  );
});

test("database passwords are redacted for display", () => {
  assert.equal(
    redactDatabaseUrl("postgres://app:s3cret@db:5432/x"),
    "postgres://app:***@db:5432/x",
  );
  assert.equal(redactDatabaseUrl("sqlite:/data/x.db"), "sqlite:/data/x.db");
});
