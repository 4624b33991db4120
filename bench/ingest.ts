/**
 * Chat ingest benchmark (issue 12): signed Slack Events API requests per second that the
 * app verifies (v0 HMAC, ±300 s), dedupes (`event_id`, in the store), stores durably
 * (inbound receipt + message in one transaction, shared by the requests of one event-loop
 * turn: group commit, src/store/group-commit.ts) and acknowledges (200 after the commit),
 * side by side with a bare Node `http` server that reads the body and answers 200, driven
 * by the same client (one undici pool per server, same connection count) at the same
 * concurrency in the same run, client and both servers in this one process (so both
 * share the client's CPU alike); then the acknowledgement
 * latency p50/p99 of both at a fixed request rate (open loop: requests are sent on a
 * schedule, not after the previous answer).
 *
 * Setup: an in-process app (`startTestApp`) on SQLite and, when
 * SWITCHYARD_TEST_POSTGRES_URL is set, on PostgreSQL, with the `slack` integration
 * configured (signing secret, bot token, `SLACK_API_URL` at the test fake of Slack's Web
 * API, which answers the adapter's `auth.test` at start; no reply is ever sent). The events are plain channel messages (no mention) in one channel
 * bound with `passive_memory: true`, so each is stored without a turn: the figure is the
 * ingest path alone, never the LLM. Every `--dup-every`th request (default 10) repeats an
 * earlier event id with `X-Slack-Retry-Num: 1`, as Slack's retries do; those must be
 * answered 200 and store nothing. The run fails if any request is not answered 200 or
 * the stored message count is not the number of distinct events.
 *
 * A third server, the HTTP layer alone (the app's `buildServer` with the Slack route's
 * signature check and JSON parse, nothing stored), runs the same rounds: the ceiling the
 * app's rate could reach if deduping and storing cost nothing.
 *
 * Figures: requests/s of both (best of the rounds), app/bare, how many events one shared
 * transaction held on average over the rounds, and at `--rate` requests/s for `--seconds`
 * the acknowledgement latency p50/p99 of both.
 * Goals: app ≥ 50 % of bare; app p99 < 50 ms at 200 requests/s.
 *
 * Options: --concurrency=32 --requests=4000 (per round) --rounds=3 --warmup=2000 (requests to
 * each server before the rounds, so both run JIT-compiled code) --rate=200 --seconds=10
 * --dup-every=10 --backend=sqlite,postgres
 */
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, cpus } from "node:os";
import pino from "pino";
import { Pool } from "undici";
import { verifySlackRequest } from "../integrations/slack/_verify.ts";
import { buildServer, closeServer, listen } from "../src/http/server.ts";
import { verifyHmac } from "../src/http/verify.ts";
import type { IntegrationContext } from "../src/sdk/context.ts";
import { startTestApp, type TestApp } from "../test/support/app.ts";
import { postgresUrl } from "../test/support/db.ts";
import { startFakeSlack } from "../test/support/fake-slack.ts";
import { listOption, option } from "./support/args.ts";
import { percentile } from "./support/stats.ts";

export const description =
  "signed Slack events/s verified, deduped, stored and acknowledged vs a bare http server";

type Backend = "sqlite" | "postgres";

const SECRET = "bench-slack-signing-secret-0123456789";
const CHANNEL = "CBENCH0001";
const TEAM = "TBENCH0001";

function parseArgs(args: string[]) {
  const backends = (listOption(args, "backend") ??
    (postgresUrl ? ["sqlite", "postgres"] : ["sqlite"])) as Backend[];
  return {
    concurrency: Number(option(args, "concurrency") ?? 32),
    requests: Number(option(args, "requests") ?? 4000),
    rounds: Number(option(args, "rounds") ?? 3),
    warmup: Number(option(args, "warmup") ?? 2000),
    rate: Number(option(args, "rate") ?? 200),
    seconds: Number(option(args, "seconds") ?? 10),
    dupEvery: Number(option(args, "dup-every") ?? 10),
    backends,
  };
}

/** One request: its body and headers, signed as Slack signs (v0 HMAC over `v0:ts:body`). */
interface SignedEvent {
  body: string;
  headers: Record<string, string>;
}

/**
 * Builds the `n`th request of a run: a channel `message` event (Slack's documented
 * event_callback envelope, https://api.slack.com/apis/events-api#callback-field), or every
 * `dupEvery`th a retry of the event before it.
 */
function makeEvent(run: string, n: number, dupEvery: number): { ev: SignedEvent; fresh: boolean } {
  const dup = dupEvery > 0 && n > 0 && n % dupEvery === 0;
  const id = dup ? n - 1 : n;
  const body = JSON.stringify({
    token: "unused-verification-token",
    team_id: TEAM,
    api_app_id: "ABENCH",
    type: "event_callback",
    event_id: `Ev${run}${id}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: TEAM, user_id: "UBOT", is_bot: true }],
    event: {
      type: "message",
      channel: CHANNEL,
      channel_type: "channel",
      user: "UHUMAN01",
      text: `bench message ${id} of run ${run}`,
      ts: `${1_700_000_000 + id}.${String(id % 1_000_000).padStart(6, "0")}`,
    },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = `v0=${createHmac("sha256", SECRET).update(`v0:${ts}:${body}`).digest("hex")}`;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-slack-request-timestamp": ts,
    "x-slack-signature": sig,
  };
  if (dup) {
    headers["x-slack-retry-num"] = "1";
    headers["x-slack-retry-reason"] = "http_timeout";
  }
  return { ev: { body, headers }, fresh: !dup };
}

/** Sends one request through `pool`; returns the acknowledgement latency (ms). */
async function send(pool: Pool, path: string, ev: SignedEvent): Promise<number> {
  const t0 = performance.now();
  const res = await pool.request({ method: "POST", path, headers: ev.headers, body: ev.body });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}`);
  return performance.now() - t0;
}

/** Closed loop: `concurrency` workers send `total` requests; returns requests/s and fresh events. */
async function throughput(
  pool: Pool,
  path: string,
  run: string,
  total: number,
  concurrency: number,
  dupEvery: number,
): Promise<{ perSecond: number; fresh: number }> {
  // Built and signed before the clock starts: the figure is the server's, not the client's.
  const events = Array.from({ length: total }, (_, n) => makeEvent(run, n, dupEvery));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await send(pool, path, events[next++]!.ev);
    }),
  );
  const ms = performance.now() - started;
  return { perSecond: total / (ms / 1000), fresh: events.filter((e) => e.fresh).length };
}

/** Open loop: one request every 1000/rate ms for `seconds`; returns sorted latencies (ms). */
async function latencies(
  pool: Pool,
  path: string,
  run: string,
  rate: number,
  seconds: number,
  dupEvery: number,
): Promise<{ sorted: number[]; fresh: number }> {
  const total = Math.round(rate * seconds);
  const out: number[] = [];
  const inflight: Promise<void>[] = [];
  let fresh = 0;
  const started = performance.now();
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const { ev, fresh: isFresh } = makeEvent(run, n, dupEvery);
    if (isFresh) fresh++;
    inflight.push(send(pool, path, ev).then((ms) => void out.push(ms)));
  }
  await Promise.all(inflight);
  return { sorted: out.sort((a, b) => a - b), fresh };
}

/** A bare Node http server that reads each body and answers 200 `{"ok":true}`. */
async function startBare(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.on("data", () => {});
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "11" });
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * The HTTP layer alone, as the ceiling of what the app can reach: the app's own server
 * (`buildServer`: its parsers and hooks) with the Slack route's raw-body parser, its v0
 * signature check (`verifySlackRequest`) and JSON parse, answering 200 the app's shape:
 * nothing is deduped or stored.
 */
async function startHttpOnly(): Promise<{ url: string; close(): Promise<void> }> {
  const server = buildServer({ log: pino({ level: "silent" }), bodyLimit: 1 << 20 });
  const ctx = {
    settings: { SLACK_SIGNING_SECRET: SECRET },
    verify: { hmac: verifyHmac },
  } as unknown as IntegrationContext;
  await server.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser("*", { parseAs: "buffer" }, (req, body, done) => {
        req.rawBody = body as Buffer;
        done(null, undefined);
      });
      scope.post("/events", async (req, reply) => {
        const checked = verifySlackRequest(ctx, req.headers, req.rawBody);
        if (!checked.ok) return reply.code(401).send({ detail: "Unauthorized" });
        const env = JSON.parse(checked.text) as { event_id?: string };
        return { ok: true, status: "stored", session_id: env.event_id ?? null, task_id: null };
      });
    },
    { prefix: "/integrations/slack" },
  );
  const url = await listen(server, "127.0.0.1", 0);
  return { url, close: () => closeServer(server, 1000) };
}

/** Messages stored in the bench channel's session(s) (read from the store). */
async function storedMessages(t: TestApp): Promise<number> {
  const sessions = await t.app.store.sessions.list({ clientIdPrefix: "slack:", limit: 1000 });
  let n = 0;
  for (const s of sessions) {
    n += (await t.app.store.messages.listRecent(s.id, 10_000_000)).length;
  }
  return n;
}

async function cell(backend: Backend, o: ReturnType<typeof parseArgs>): Promise<void> {
  const bare = await startBare();
  const httpOnly = await startHttpOnly();
  const slack = await startFakeSlack({
    token: "xoxb-bench-token",
    botUserId: "UBOT",
    teamId: TEAM,
  });
  const t = await startTestApp({
    backend,
    env: {
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: "xoxb-bench-token",
      SLACK_API_URL: slack.apiUrl,
      SWITCHYARD_LOG_LEVEL: "warn",
    },
    tuning: { pollMs: 1000 },
  });
  const appPool = new Pool(t.url, { connections: o.concurrency, pipelining: 1 });
  const barePool = new Pool(bare.url, { connections: o.concurrency, pipelining: 1 });
  const httpPool = new Pool(httpOnly.url, { connections: o.concurrency, pipelining: 1 });
  try {
    const bound = await t.api("POST", "/api/v1/admin/channels", {
      integration: "slack",
      team: TEAM,
      channel: CHANNEL,
      passive_memory: true,
    });
    if (bound.status !== 201 && bound.status !== 200) {
      throw new Error(`channel not bound: ${bound.status} ${JSON.stringify(bound.body)}`);
    }
    const path = "/integrations/slack/events";
    let fresh = 0;
    // Warm-up of both (JIT, pools, statement caches).
    fresh += (await throughput(appPool, path, "w", o.warmup, o.concurrency, o.dupEvery)).fresh;
    await throughput(barePool, "/", "w", o.warmup, o.concurrency, o.dupEvery);
    await throughput(httpPool, path, "w", o.warmup, o.concurrency, o.dupEvery);
    const group0 = t.app.store.groupCommitStats;

    let appBest = 0;
    let bareBest = 0;
    let httpBest = 0;
    for (let round = 0; round < o.rounds; round++) {
      const b = await throughput(barePool, "/", `b${round}`, o.requests, o.concurrency, o.dupEvery);
      bareBest = Math.max(bareBest, b.perSecond);
      const h = await throughput(
        httpPool,
        path,
        `h${round}`,
        o.requests,
        o.concurrency,
        o.dupEvery,
      );
      httpBest = Math.max(httpBest, h.perSecond);
      const a = await throughput(appPool, path, `r${round}`, o.requests, o.concurrency, o.dupEvery);
      appBest = Math.max(appBest, a.perSecond);
      fresh += a.fresh;
    }
    const group = t.app.store.groupCommitStats;
    const perBatch = (group.batchedWorks - group0.batchedWorks) / (group.batches - group0.batches);
    const bareLat = await latencies(barePool, "/", "lb", o.rate, o.seconds, o.dupEvery);
    const appLat = await latencies(appPool, path, "la", o.rate, o.seconds, o.dupEvery);
    fresh += appLat.fresh;

    const stored = await storedMessages(t);
    if (stored !== fresh) {
      throw new Error(`stored ${stored} messages for ${fresh} distinct events (dedupe or loss)`);
    }
    const tasks = (await t.api("GET", "/api/v1/tasks?limit=1")).body as unknown[];
    if (tasks.length) throw new Error("a passive-memory message queued a turn");
    const fmt = (l: number[]) =>
      `p50 ${percentile(l, 50).toFixed(1)} ms  p99 ${percentile(l, 99).toFixed(1)} ms`;
    console.log(
      `  ${backend.padEnd(8)} concurrency ${o.concurrency}, ${o.requests} requests × ${o.rounds} rounds ` +
        `(1 in ${o.dupEvery} a Slack retry), best: app ${appBest.toFixed(0)}/s  bare ${bareBest.toFixed(0)}/s  ` +
        `app/bare ${(appBest / bareBest).toFixed(2)} (goal ≥ 0.50); ${perBatch.toFixed(1)} events per shared transaction`,
    );
    console.log(
      `  ${backend.padEnd(8)} HTTP layer alone (same server, Slack check and parse, nothing stored): ` +
        `${httpBest.toFixed(0)}/s, http-only/bare ${(httpBest / bareBest).toFixed(2)}, app/http-only ${(appBest / httpBest).toFixed(2)}`,
    );
    console.log(
      `  ${backend.padEnd(8)} ack latency at ${o.rate}/s for ${o.seconds} s: app ${fmt(appLat.sorted)} | ` +
        `bare ${fmt(bareLat.sorted)} (goal: app p99 < 50 ms); ${stored} messages stored = distinct events`,
    );
  } finally {
    await appPool.close();
    await barePool.close();
    await httpPool.close();
    await httpOnly.close();
    await t.close();
    await bare.close();
    await slack.close();
  }
}

/** Runs the benchmark (see the module comment for options). */
export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `  node ${process.version}, ${availableParallelism()} × ${cpu}; client, app and bare server in this process; ` +
      "app = verify v0 HMAC → dedupe event_id → receipt + message (one transaction, group commit) → 200",
  );
  for (const backend of o.backends) {
    if (backend === "postgres" && !postgresUrl) {
      console.log("  postgres: SWITCHYARD_TEST_POSTGRES_URL is not set; skipped");
      continue;
    }
    await cell(backend, o);
  }
}
