/** The command line: `keys create|list|revoke`, `doctor`, and a config error at start. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { hashApiKey } from "../src/store/api-keys.ts";
import { Store } from "../src/store/index.ts";
import { tempDir } from "./support/db.ts";
import { type FakeLlm, startFakeLlm } from "./support/fake-llm.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");
const dir = tempDir();
let llm: FakeLlm;
before(async () => {
  llm = await startFakeLlm();
});
after(async () => {
  await llm.close();
  dir.remove();
});

function run(args: string[], env: Record<string, string> = {}) {
  return runCommand(join(ROOT, "bin/switchyard"), args, dir.path, {
    SWITCHYARD_LOG_LEVEL: "warn",
    ...env,
  });
}

test("keys create prints a key once that the server accepts with its scopes; only the hash is stored", async () => {
  const r = await run(["keys", "create", "--scopes", "sessions:write,tasks:read", "--name", "ci"]);
  assert.equal(r.code, 0, r.err);
  const key = r.out.trim();
  assert.match(key, /^sy_[A-Za-z0-9_-]{40,}$/);
  assert.match(r.err, /shown only now/);
  const store = await Store.open(`sqlite:${join(dir.path, "data", "switchyard.db")}`);
  try {
    const rec = await store.apiKeys.findByKey(key);
    assert.deepEqual(rec?.scopes, ["sessions:write", "tasks:read"]);
    const rows = await store.db.kysely.selectFrom("api_keys").selectAll().execute();
    assert.ok(
      rows.every((row) => !JSON.stringify(row).includes(key)),
      "the key itself is not stored",
    );
  } finally {
    await store.close();
  }
});

test("keys list shows the keys in force without secrets; keys revoke removes one by name or id", async () => {
  const made = await run(["keys", "create", "--scopes", "documents:read", "--name", "list-me"]);
  assert.equal(made.code, 0, made.err);
  const key = made.out.trim();
  const id = /\(([0-9a-f-]{36})\)/.exec(made.err)?.[1];
  assert.ok(id, made.err);

  const table = await run(["keys", "list"]);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /^ID\s+NAME\s+SCOPES\s+CREATED\s+LAST USED$/m);
  const line = table.out.split("\n").find((l) => l.startsWith(id!))!;
  assert.match(line, /list-me\s+documents:read\s+\d{4}-\d\d-\d\dT\S+Z\s+never$/);
  assert.ok(!table.out.includes(key) && !table.out.includes(hashApiKey(key)), "no secrets");

  const json = await run(["keys", "list", "--json"]);
  assert.equal(json.code, 0, json.err);
  const listed = JSON.parse(json.out).find((k: any) => k.id === id);
  assert.deepEqual(
    { name: listed.name, scopes: listed.scopes, last_used_at: listed.last_used_at },
    { name: "list-me", scopes: ["documents:read"], last_used_at: null },
  );

  const revoked = await run(["keys", "revoke", "list-me"]);
  assert.equal(revoked.code, 0, revoked.err);
  assert.match(revoked.err, new RegExp(`Revoked key "list-me" \\(${id}\\)`));
  assert.ok(!(await run(["keys", "list"])).out.includes(id!), "no longer listed");
  const store = await Store.open(`sqlite:${join(dir.path, "data", "switchyard.db")}`);
  try {
    assert.equal(await store.apiKeys.findByKey(key), undefined, "the key no longer opens");
  } finally {
    await store.close();
  }

  const again = await run(["keys", "revoke", id!]);
  assert.equal(again.code, 1);
  assert.match(again.err, /No API key in force has the id or name/);

  // Two keys share a name: revoking by that name is refused; by id it works.
  const a = await run(["keys", "create", "--scopes", "tasks:read", "--name", "twin"]);
  await run(["keys", "create", "--scopes", "tasks:read", "--name", "twin"]);
  const ambiguous = await run(["keys", "revoke", "twin"]);
  assert.equal(ambiguous.code, 1);
  assert.match(ambiguous.err, /2 keys are named "twin"; revoke one by id/);
  const twinId = /\(([0-9a-f-]{36})\)/.exec(a.err)![1]!;
  assert.equal((await run(["keys", "revoke", twinId])).code, 0);
});

test("keys create refuses an unknown scope", async () => {
  const r = await run(["keys", "create", "--scopes", "sessions:write,root"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /Unknown scope\(s\): root/);
});

test("doctor passes with a model endpoint that answers and fails with the reason when not", async () => {
  const ok = await run(["doctor"], {
    SWITCHYARD_MODEL: "openai-compatible:fake-model",
    SWITCHYARD_LLM_BASE_URL: llm.baseUrl,
  });
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /database:\s+ok/);
  assert.match(ok.out, /model:\s+ok/);
  const down = await run(["doctor"], {
    SWITCHYARD_MODEL: "ollama:llama3.2",
    OLLAMA_BASE_URL: "http://127.0.0.1:9",
  });
  assert.equal(down.code, 1);
  assert.match(
    down.out,
    /model:\s+FAILED: bot "default" ollama:llama3.2 — endpoint not answering: .*127\.0\.0\.1:9/,
  );
});

test("serve with an invalid variable exits 1 naming it", async () => {
  const r = await run(["serve"], { SWITCHYARD_WORKER_CONCURRENCY: "lots" });
  assert.equal(r.code, 1);
  assert.match(r.err, /SWITCHYARD_WORKER_CONCURRENCY/);
});

test("first start generates an API key file with mode 0600 and prints the key once", async () => {
  const env = {
    PORT: "0",
    SWITCHYARD_DATA_DIR: join(dir.path, "fresh"),
    SWITCHYARD_SHUTDOWN_GRACE_SECONDS: "0",
  };
  const start = () =>
    new Promise<string>((resolve, reject) => {
      const p = spawn(join(ROOT, "bin/switchyard"), ["serve"], {
        cwd: dir.path,
        env: { PATH: process.env.PATH ?? "", SWITCHYARD_LOG_LEVEL: "warn", ...env },
      });
      let out = "";
      p.stdout.on("data", (d) => {
        out += d;
        if (/integrations loaded/.test(out) && p.signalCode === null && !p.killed)
          p.kill("SIGTERM");
      });
      p.on("exit", (code) =>
        code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`)),
      );
    });
  const first = await start();
  const file = join(dir.path, "fresh", "api-key");
  const key = readFileSync(file, "utf8").trim();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(first.includes(key), "printed on the first start");
  assert.match(first, /listening on http:\/\/127\.0\.0\.1:\d+/);
  const second = await start();
  assert.ok(!second.includes(key), "never printed again");
  assert.match(second, /API key:\s+in .*api-key/);
});
