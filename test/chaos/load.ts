/**
 * The chaos suite's load: turns through REST and through the Slack adapter (one sender per
 * session, each message sent after the previous one was accepted), events emitted to the
 * subscribers, paced over the load phase. Every injection is recorded with what the
 * server answered, for the counts in ./check.ts.
 *
 * Retries: a REST message carries an `Idempotency-Key` and a Slack event its `event_id`
 * (re-signed, with `X-Slack-Retry-Num`, as Slack retries), so a request whose connection
 * was cut is sent again to the other instance; and every 5th turn is sent once more after
 * it was accepted (a retrying client, a Slack redelivery), to whichever instance is next. `POST /events` has no idempotency key: a
 * cut emission is not sent again and is counted as of unknown outcome.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BOT_USER_ID, envelope, slackSignature, USER_ID } from "../fixtures/slack.ts";
import type { Cluster } from "./cluster.ts";

/** One injected turn. */
export interface Turn {
  via: "rest" | "slack";
  /** Index of its session in the run. */
  session: number;
  /** Its position in its session, from 0. */
  index: number;
  /** The message text, unique in the run (the fake LLM echoes it back). */
  marker: string;
  /** When it was first sent, epoch ms. */
  sentAt: number;
  /** HTTP status of the final answer, or how it went unanswered. */
  status: number | "refused" | "cut";
  /** Tries it took (1 = the first was answered). */
  tries: number;
  /** Tries whose connection was cut after sending (outcome unknown, sent again). */
  cut: number;
  taskId?: string;
  sessionId?: string;
  /**
   * The answer to the same request sent once more after it was accepted (every
   * {@link REDELIVER_EVERY}th turn: a client retrying, Slack redelivering), which must
   * name the same task.
   */
  redelivered?: { status: number | "refused" | "cut"; taskId?: string };
}

/** Every this-many-th turn of a session is sent twice (same idempotency key / event id). */
export const REDELIVER_EVERY = 5;

/** One emitted event. */
export interface EmittedEvent {
  /** Unique id in the payload (`data.chaos_id` at the subscriber). */
  chaosId: string;
  status: number | "refused" | "cut";
}

/** What the load phase sends. */
export interface LoadPlan {
  /** Sessions fed through REST and through the Slack adapter. */
  restSessions: number;
  slackSessions: number;
  turnsPerSession: number;
  events: number;
  /** Concurrent emitters of events. */
  emitters: number;
  /** How long the load is spread over, ms. */
  durationMs: number;
  /** Where REST turns' results are POSTed (dispatch webhook). */
  replyUrl: string;
  /** Tag making markers unique across runs. */
  runId: string;
  /** When the load phase starts, epoch ms. */
  startedAt: number;
}

/** The event every subscriber subscribes to. */
export const CHAOS_EVENT = "roadmap.exported";

/**
 * Waits for the `i`-th of a sender's `count` sends: a random moment in the `i`-th of
 * `count` equal parts of the load phase (at once when the sender is behind).
 */
const pace = (plan: LoadPlan, i: number, count: number) => {
  const at = plan.startedAt + ((i + Math.random()) * plan.durationMs) / count;
  return sleep(Math.max(0, at - Date.now()));
};

/** Creates the REST sessions (get-or-create by client id: safe to retry); returns their ids. */
export async function createRestSessions(cluster: Cluster, plan: LoadPlan): Promise<string[]> {
  const ids: string[] = [];
  for (let s = 0; s < plan.restSessions; s++) {
    const r = await cluster.api("POST", "/api/v1/sessions", {
      client_id: `chaos:${plan.runId}:${s}`,
    });
    ids.push(r.session_id);
  }
  return ids;
}

/** Sends session `s`'s turns through REST, one after the other, into `out`. */
async function restSender(
  cluster: Cluster,
  plan: LoadPlan,
  s: number,
  sessionId: string,
  out: Turn[],
) {
  for (let i = 0; i < plan.turnsPerSession; i++) {
    await pace(plan, i, plan.turnsPerSession);
    const marker = `chaos ${plan.runId} rest ${s} #${i}`;
    const sentAt = Date.now();
    const send = () =>
      cluster.request("POST", `/api/v1/sessions/${sessionId}/messages`, {
        headers: { "idempotency-key": marker.replaceAll(" ", "_") },
        body: {
          content: marker,
          run_agent: true,
          dispatch_config: { type: "webhook", url: plan.replyUrl },
        },
        retryCut: true,
      });
    const r = await send();
    const again = i % REDELIVER_EVERY === REDELIVER_EVERY - 1 ? await send() : undefined;
    out.push({
      redelivered: again && { status: again.status, taskId: again.body?.task_id },
      via: "rest",
      session: s,
      index: i,
      marker,
      sentAt,
      status: r.status,
      tries: r.attempts,
      cut: r.cut,
      taskId: r.body?.task_id,
      sessionId: r.body?.session_id ?? sessionId,
    });
  }
}

/**
 * Sends session `s`'s turns as Slack `app_mention` events in one thread (the first
 * starts it), each signed afresh per try, into `out`.
 */
async function slackSender(cluster: Cluster, plan: LoadPlan, s: number, out: Turn[]) {
  const channel = `CCHAOS${s}`;
  const base = Math.floor(Date.now() / 1000);
  const rootTs = `${base}.${String(s).padStart(3, "0")}000`;
  for (let i = 0; i < plan.turnsPerSession; i++) {
    await pace(plan, i, plan.turnsPerSession);
    const marker = `chaos ${plan.runId} slack ${s} #${i}`;
    const ts =
      i === 0 ? rootTs : `${base}.${String(s).padStart(3, "0")}${String(i).padStart(3, "0")}`;
    const ev = envelope(
      {
        type: "app_mention",
        user: USER_ID,
        text: `<@${BOT_USER_ID}> ${marker}`,
        ts,
        event_ts: ts,
        channel,
        ...(i === 0 ? {} : { thread_ts: rootTs }),
      },
      `EvChaos${plan.runId}x${s}x${i}`,
    );
    const raw = JSON.stringify(ev);
    const sentAt = Date.now();
    let retries = 0;
    const send = () =>
      cluster.request("POST", "/integrations/slack/events", {
        raw,
        retryCut: true,
        prepare: () => {
          const now = Math.floor(Date.now() / 1000);
          const retry = retries++;
          return {
            headers: {
              "x-slack-request-timestamp": String(now),
              "x-slack-signature": slackSignature(now, raw),
              ...(retry > 0
                ? { "x-slack-retry-num": String(retry), "x-slack-retry-reason": "http_error" }
                : {}),
            },
          };
        },
      });
    const r = await send();
    const again = i % REDELIVER_EVERY === REDELIVER_EVERY - 1 ? await send() : undefined;
    out.push({
      redelivered: again && { status: again.status, taskId: again.body?.task_id },
      via: "slack",
      session: plan.restSessions + s,
      index: i,
      marker,
      sentAt,
      status: r.status,
      tries: r.attempts,
      cut: r.cut,
      taskId: r.body?.task_id,
      sessionId: r.body?.session_id,
    });
  }
}

/** Emits `count` events from one emitter into `out`, never re-sending a cut one. */
async function emitter(
  cluster: Cluster,
  plan: LoadPlan,
  e: number,
  count: number,
  out: EmittedEvent[],
) {
  for (let i = 0; i < count; i++) {
    await pace(plan, i, count);
    const chaosId = `${plan.runId}-e${e}-${i}`;
    const r = await cluster.request("POST", "/api/v1/events", {
      body: { event: CHAOS_EVENT, payload: { chaos_id: chaosId } },
      retryCut: false,
    });
    out.push({ chaosId, status: r.status });
  }
}

/** Everything the load phase sent and what came back. */
export interface LoadRecord {
  turns: Turn[];
  events: EmittedEvent[];
  /** When the last turn and the last event were answered, ms after the start. */
  turnsMs: number;
  eventsMs: number;
}

/** Runs the load phase to its end (every sender done). */
export async function runLoad(
  cluster: Cluster,
  plan: LoadPlan,
  restSessionIds: string[],
): Promise<LoadRecord> {
  const turns: Turn[] = [];
  const events: EmittedEvent[] = [];
  const perEmitter = Math.ceil(plan.events / plan.emitters);
  const since = () => Date.now() - plan.startedAt;
  const [turnsMs, eventsMs] = await Promise.all([
    Promise.all([
      ...restSessionIds.map((id, s) => restSender(cluster, plan, s, id, turns)),
      ...Array.from({ length: plan.slackSessions }, (_, s) => slackSender(cluster, plan, s, turns)),
    ]).then(since),
    Promise.all(
      Array.from({ length: plan.emitters }, (_, e) =>
        emitter(cluster, plan, e, Math.min(perEmitter, plan.events - e * perEmitter), events),
      ),
    ).then(since),
  ]);
  return { turns, events, turnsMs, eventsMs };
}
