/**
 * The set-up every kill -9 suite shares: a fake LLM, a capture server (the webhook
 * receiver), a fresh database of the suite's backend and a data dir, created in `before`
 * and removed in `after` (every `switchyard serve` child killed first). Call
 * {@link crashHarness} inside a `describe`; its fields are usable from the first test on.
 */
import { after, before } from "node:test";
import { type CaptureServer, startCaptureServer } from "./capture-server.ts";
import { type Backend, createTestDatabase, type TestDatabase, tempDir } from "./db.ts";
import { type FakeLlm, startFakeLlm } from "./fake-llm.ts";
import {
  callApi,
  killServerProcesses,
  type ServerProcess,
  startServerProcess,
  testServerEnv,
} from "./serve-process.ts";

/** What a crash suite's tests use. */
export interface CrashHarness {
  readonly llm: FakeLlm;
  readonly hook: CaptureServer;
  readonly db: TestDatabase;
  /** The server's data dir (its cwd too); kept across restarts. */
  readonly dataDir: string;
  /** The environment `start` gives the server: the test settings plus the suite's own. */
  env(): Record<string, string>;
  /** Starts `switchyard serve` on the suite's database, with `extra` env on top. */
  start(extra?: Record<string, string>): Promise<ServerProcess>;
  /** Calls the REST API of the server at `url` with the suite's key. */
  api(url: string, method: string, path: string, body?: unknown): ReturnType<typeof callApi>;
}

/**
 * Registers the suite's `before`/`after` and returns its harness.
 * @param opts.apiKey the server's `SWITCHYARD_API_KEY`
 * @param opts.env settings added to the test defaults (`SWITCHYARD_LOG_LEVEL` is `warn`
 *   unless given)
 */
export function crashHarness(
  backend: Backend,
  opts: { apiKey: string; env?: Record<string, string> },
): CrashHarness {
  const dir = tempDir();
  let llm: FakeLlm | undefined;
  let hook: CaptureServer | undefined;
  let db: TestDatabase | undefined;
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`crash harness: ${what} is used before \`before\` ran`);
    return v;
  };
  before(async () => {
    llm = await startFakeLlm();
    hook = await startCaptureServer();
    db = await createTestDatabase(backend);
  });
  after(async () => {
    await killServerProcesses();
    await llm?.close();
    await hook?.close();
    await db?.drop();
    dir.remove();
  });
  const h: CrashHarness = {
    get llm() {
      return ready(llm, "the fake LLM");
    },
    get hook() {
      return ready(hook, "the capture server");
    },
    get db() {
      return ready(db, "the database");
    },
    dataDir: dir.path,
    env: () => ({
      ...testServerEnv({
        dataDir: dir.path,
        databaseUrl: h.db.url,
        llmBaseUrl: h.llm.baseUrl,
        apiKey: opts.apiKey,
      }),
      SWITCHYARD_LOG_LEVEL: "warn",
      ...opts.env,
    }),
    start: (extra = {}) => startServerProcess({ ...h.env(), ...extra }),
    api: (url, method, path, body) => callApi(url, opts.apiKey, method, path, body),
  };
  return h;
}
