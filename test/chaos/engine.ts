/**
 * The chaos suite's engine (issue 14): two `switchyard serve` instances on one PostgreSQL
 * database take turns through REST and the Slack adapter, events for 4 subscribers and a
 * job firing every second, while one instance or the other is SIGKILLed every few seconds
 * and restarted at once. After the load the kills stop, everything drains, and the counts
 * of ./check.ts and ./check-events-jobs.ts are taken. Sized by {@link ChaosSize}: the full
 * run (`npm run chaos`, scripts/chaos.ts) and a short one (test/chaos.test.ts).
 *
 * Everything outside the servers (fake LLM, fake Slack Web API, the reply receiver and the
 * 4 event subscribers) runs in this process on 127.0.0.1.
 */
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { BOT_USER_ID, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, TEAM_ID } from "../fixtures/slack.ts";
import { type CaptureServer, startCaptureServer } from "../support/capture-server.ts";
import { createTestDatabase, type TestDatabase, tempDir } from "../support/db.ts";
import { type FakeLlm, startFakeLlm } from "../support/fake-llm.ts";
import { type FakeSlack, startFakeSlack } from "../support/fake-slack.ts";
import { testServerEnv } from "../support/serve-process.ts";
import { checkTurns, markerIn, type TurnFigures } from "./check.ts";
import { checkEvents, checkJob, type EventFigures, type JobFigures } from "./check-events-jobs.ts";
import { Cluster, Instance, startKiller } from "./cluster.ts";
import {
  CHAOS_EVENT,
  createRestSessions,
  type LoadPlan,
  type LoadRecord,
  runLoad,
} from "./load.ts";

/** How big a run is. */
export interface ChaosSize {
  restSessions: number;
  slackSessions: number;
  turnsPerSession: number;
  events: number;
  /** Concurrent event emitters. */
  emitters: number;
  /** The load phase's length, ms (injections are spread over it). */
  durationMs: number;
  /** Mean pause between SIGKILLs, ms (after the restart of the previous one). */
  killEveryMs: number;
  /** Kills the load phase waits for, so a fast load still sees them (0: none). */
  minKills: number;
  /** The fake LLM's latency per call, ms (a kill then often lands inside a turn). */
  llmLatencyMs: number;
  /** How long the run may take to drain after the load, ms. */
  drainMs: number;
}

/** `npm run chaos`: 2,000 turns across 50 sessions, 5,000 events, kills every ~5 s. */
export const FULL: ChaosSize = {
  restSessions: 25,
  slackSessions: 25,
  turnsPerSession: 40,
  events: 5000,
  emitters: 16,
  durationMs: 120_000,
  killEveryMs: 5000,
  minKills: 0,
  llmLatencyMs: 100,
  drainMs: 120_000,
};

/** The version in `npm test`: 100 turns across 5 sessions, 200 events, 2 or more kills. */
export const SHORT: ChaosSize = {
  restSessions: 3,
  slackSessions: 2,
  turnsPerSession: 20,
  events: 200,
  emitters: 4,
  durationMs: 12_000,
  killEveryMs: 2000,
  minKills: 2,
  llmLatencyMs: 100,
  drainMs: 25_000,
};

/** The job's schedule, seconds. */
const JOB_EVERY_S = 1;
const API_KEY = "chaos-key-0123456789abcdef";
const SUBSCRIBERS = 4;

/** What a run measured. */
export interface ChaosReport {
  size: ChaosSize;
  /** What it ran against: Node, PostgreSQL server version, CPUs. */
  env: { node: string; postgres: string; cpus: number };
  kills: Record<string, number>;
  /** Mean time from a SIGKILL until that instance listened again, ms (NaN without kills). */
  restartMs: number;
  /** Load phase and drain, ms. */
  loadMs: number;
  drainMs: number;
  /** Whether everything arrived before the drain deadline. */
  drained: boolean;
  turns: TurnFigures;
  events: EventFigures;
  job: JobFigures;
}

/** The environment both instances share (their data dirs differ). */
function serverEnv(db: TestDatabase, llm: FakeLlm, slack: FakeSlack, dataDir: string) {
  return {
    ...testServerEnv({ dataDir, databaseUrl: db.url, llmBaseUrl: llm.baseUrl, apiKey: API_KEY }),
    SWITCHYARD_LOG_LEVEL: "warn",
    SWITCHYARD_RUNTIME: "none",
    // Short leases and retry delays so crashed work comes back within the run.
    SWITCHYARD_TASK_LEASE_SECONDS: "8",
    SWITCHYARD_DELIVERY_LEASE_SECONDS: "10",
    SWITCHYARD_DELIVERY_SCHEDULE_SECONDS: "0.5,1,1,2,2,5,5",
    SLACK_SIGNING_SECRET,
    SLACK_BOT_TOKEN,
    SLACK_API_URL: slack.apiUrl,
  };
}

/** The PostgreSQL server's version string. */
async function postgresVersion(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return String((await c.query("SHOW server_version")).rows[0].server_version);
  } finally {
    await c.end();
  }
}

/**
 * Runs the chaos suite once at `size` on a fresh PostgreSQL database (needs
 * `SWITCHYARD_TEST_POSTGRES_URL`); `log` gets progress lines.
 * @throws Error when a server does not start or the setup calls fail
 */
export async function runChaos(
  size: ChaosSize,
  log: (line: string) => void = () => {},
): Promise<ChaosReport> {
  const runId = randomUUID().slice(0, 8);
  const db = await createTestDatabase("postgres");
  const dirs = [tempDir("switchyard-chaos-a-"), tempDir("switchyard-chaos-b-")];
  const llm = await startFakeLlm({ latencyMs: size.llmLatencyMs });
  const slack = await startFakeSlack({
    token: SLACK_BOT_TOKEN,
    botUserId: BOT_USER_ID,
    teamId: TEAM_ID,
  });
  const replies = await startCaptureServer();
  const subs: CaptureServer[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) subs.push(await startCaptureServer());
  const instances = ["A", "B"].map(
    (n, i) => new Instance(n, serverEnv(db, llm, slack, dirs[i]!.path)),
  );
  try {
    for (const inst of instances) await inst.start();
    const cluster = new Cluster(instances, API_KEY);
    const env = {
      node: process.version,
      postgres: await postgresVersion(db.url),
      cpus: availableParallelism(),
    };

    const subIds: string[] = [];
    for (const [i, s] of subs.entries()) {
      const r = await cluster.api("POST", "/api/v1/webhooks", {
        url: `${s.url}/sub${i}`,
        events: [CHAOS_EVENT],
      });
      subIds.push(r.webhook.id);
    }
    const plan: LoadPlan = { ...size, replyUrl: `${replies.url}/reply`, runId, startedAt: 0 };
    const restIds = await createRestSessions(cluster, plan);
    const job = await cluster.api("POST", "/api/v1/jobs", {
      name: `chaos ${runId}`,
      schedule: { every_seconds: JOB_EVERY_S },
      target: { bot_id: "default", client_id: `chaos:${runId}:job` },
      prompt: `chaos job ${runId}`,
      overlap: "queue",
    });
    const firstSlot = Date.parse(job.next_run_at);
    // Each instance re-reads the subscription list every 2 s.
    await sleep(2500);

    log(`load: ${size.durationMs / 1000} s, kills every ~${size.killEveryMs / 1000} s`);
    const started = Date.now();
    plan.startedAt = started;
    const killer = startKiller(cluster, { everyMs: size.killEveryMs, log });
    let load: LoadRecord;
    try {
      load = await runLoad(cluster, plan, restIds);
      log(
        `turns sent in ${(load.turnsMs / 1000).toFixed(1)} s, events in ${(load.eventsMs / 1000).toFixed(1)} s`,
      );
      await killer.reached(size.minKills);
    } finally {
      await killer.stop();
    }
    const disabledAt = Date.now();
    await cluster.api("PUT", `/api/v1/jobs/${job.id}`, { enabled: false });
    const loadMs = Date.now() - started;
    log(
      `load done in ${(loadMs / 1000).toFixed(1)} s; kills ${instances.map((i) => `${i.name} ${i.kills}`).join(", ")}`,
    );

    const drainStart = Date.now();
    const drained = await drain(cluster, load, replies, slack, subs, job.id, runId, size.drainMs);
    const drainMs = Date.now() - drainStart;
    log(`drain ${drained ? "done" : "timed out"} in ${(drainMs / 1000).toFixed(1)} s`);

    const turns = await checkTurns({
      cluster,
      runId,
      turns: load.turns,
      llmRequests: llm.requests,
      replies: replies.requests,
      slackPosts: slack.posts,
    });
    const events = await checkEvents(
      cluster,
      load.events,
      subs.map((s, i) => ({ id: subIds[i]!, requests: s.requests })),
    );
    const jobFigures = await checkJob(
      cluster,
      job.id,
      firstSlot,
      JOB_EVERY_S * 1000,
      disabledAt,
      instances.map((i) => i.downtime),
    );
    return {
      size,
      env,
      kills: Object.fromEntries(instances.map((i) => [i.name, i.kills])),
      restartMs: mean(instances.flatMap((i) => i.downtime.map(([from, to]) => to - from))),
      loadMs,
      drainMs,
      drained,
      turns,
      events,
      job: jobFigures,
    };
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
    await Promise.all([llm.close(), slack.close(), replies.close(), ...subs.map((s) => s.close())]);
    await db.drop();
    for (const d of dirs) d.remove();
  }
}

/**
 * Waits until every accepted turn's reply and every accepted event arrived, no delivery is
 * pending and every job run finished, or `ms` passed.
 * @returns whether it all arrived in time
 */
async function drain(
  cluster: Cluster,
  load: LoadRecord,
  replies: CaptureServer,
  slack: FakeSlack,
  subs: CaptureServer[],
  jobId: string,
  runId: string,
  ms: number,
): Promise<boolean> {
  const until = Date.now() + ms;
  const accepted = <T extends { status: number | string }>(l: T[]) =>
    l.filter((x) => typeof x.status === "number" && x.status < 300);
  const turns = accepted(load.turns);
  const events = accepted(load.events);
  while (Date.now() < until) {
    const restDone = new Set(replies.requests.map((r) => String(r.json?.task_id)));
    const slackDone = new Set(slack.posts.map((p) => markerIn(p.text, runId)));
    const turnsDone = turns.every((t) =>
      t.via === "rest" ? restDone.has(t.taskId!) : slackDone.has(t.marker),
    );
    const eventsDone = subs.every((s) => {
      const got = new Set(s.requests.map((r) => r.json?.data?.chaos_id));
      return events.every((e) => got.has(e.chaosId));
    });
    if (turnsDone && eventsDone) {
      const pending = [
        ...(await cluster.api("GET", "/api/v1/deliveries?status=pending&limit=1")),
        ...(await cluster.api("GET", "/api/v1/deliveries?status=failed&limit=1")),
      ];
      const runs = (await cluster.api("GET", `/api/v1/jobs/${jobId}/runs?limit=1000`))
        .items as any[];
      if (pending.length === 0 && runs.every((r) => !["queued", "running"].includes(r.status)))
        return true;
    }
    await sleep(500);
  }
  return false;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
