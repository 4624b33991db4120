/**
 * Starts a real switchyard App on 127.0.0.1 (port 0) against a fake LLM, with a temp data
 * dir and a given database, and a tiny JSON client for its API.
 */
import { after } from "node:test";
import pino from "pino";
import { App, type AppTuning } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { type Backend, createTestDatabase, type TestDatabase, tempDir } from "./db.ts";
import { type FakeLlm, startFakeLlm } from "./fake-llm.ts";
import { testServerEnv } from "./serve-process.ts";

/** The API key every test app accepts (all scopes). */
export const TEST_API_KEY = "test-key-0123456789abcdef";

/** A running test app with its fake LLM and helpers. */
export interface TestApp {
  app: App;
  url: string;
  llm: FakeLlm;
  db: TestDatabase;
  /** Calls the API with the test key (or `opts.key`); returns status and parsed body. */
  api(
    method: string,
    path: string,
    body?: unknown,
    opts?: { key?: string | null; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any }>;
  /** Polls GET /api/v1/tasks/{id} until its status is final (or `want`), default 10 s. */
  waitForTask(id: string, want?: string[], timeoutMs?: number): Promise<any>;
  /** Creates (or gets) a session and returns its id. */
  session(clientId: string, extra?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** Options of {@link startTestApp}. */
export interface TestAppOptions {
  backend?: Backend;
  env?: Record<string, string>;
  tuning?: AppTuning;
  llm?: FakeLlm;
  /** Keep the database after close (for restart tests); default false. */
  keepDb?: TestDatabase;
}

/**
 * An app shared by the tests of one suite: started at its first use, closed after the
 * suite. Call it in a `describe` body (it registers the suite's `after`).
 */
export function sharedTestApp(opts: TestAppOptions = {}): () => Promise<TestApp> {
  let started: Promise<TestApp> | undefined;
  after(async () => {
    await (await started)?.close();
  });
  return () => {
    started ??= startTestApp(opts);
    return started;
  };
}

/** Starts an app; close it with `close()`. */
export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const llm = opts.llm ?? (await startFakeLlm());
  let db: TestDatabase;
  try {
    db = opts.keepDb ?? (await createTestDatabase(opts.backend ?? "sqlite"));
  } catch (err) {
    // No database (PostgreSQL unreachable): close the fake LLM this helper started, or its
    // server keeps the test file from ever exiting.
    if (!opts.llm) await llm.close();
    throw err;
  }
  const dir = tempDir();
  const config = loadConfig(
    {
      ...testServerEnv({
        dataDir: dir.path,
        databaseUrl: db.url,
        llmBaseUrl: llm.baseUrl,
        apiKey: TEST_API_KEY,
      }),
      ...opts.env,
    },
    dir.path,
  );
  // If the app cannot be built or cannot listen, release what this helper started (the fake
  // LLM's server, the database, the temp dir) before rethrowing, or the test file never exits.
  const release = async () => {
    if (!opts.llm) await llm.close();
    if (!opts.keepDb) await db.drop();
    dir.remove();
  };
  let app: App;
  let url: string;
  try {
    app = await App.create(config, {
      log: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
      tuning: {
        pollMs: 200,
        llmMaxRetries: 0,
        httpRetryDelayMs: 10,
        shutdownGraceMs: 2000,
        ...opts.tuning,
      },
    });
  } catch (err) {
    await release();
    throw err;
  }
  try {
    url = await app.start();
  } catch (err) {
    await app.stop();
    await release();
    throw err;
  }

  const api: TestApp["api"] = async (method, path, body, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const key = o.key === undefined ? TEST_API_KEY : o.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined = o.raw;
    if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(`${url}${path}`, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, body: parsed };
  };

  const waitForTask: TestApp["waitForTask"] = async (
    id,
    want = ["complete", "failed", "cancelled"],
    timeoutMs = 10_000,
  ) => {
    const until = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < until) {
      last = (await api("GET", `/api/v1/tasks/${id}`)).body;
      if (want.includes(last?.status)) return last;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(
      `task ${id} did not reach ${want.join("/")} in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
    );
  };

  const session: TestApp["session"] = async (clientId, extra = {}) => {
    const r = await api("POST", "/api/v1/sessions", { client_id: clientId, ...extra });
    if (r.status !== 201)
      throw new Error(`session create failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.session_id;
  };

  return {
    app,
    url,
    llm,
    db,
    api,
    waitForTask,
    session,
    async close() {
      await app.stop();
      await release();
    },
  };
}
