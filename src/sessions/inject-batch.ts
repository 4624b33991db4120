/**
 * The group-commit bulk work of every injection (`SessionService`): one call writes the
 * injections of a batch. Routed ones (an adapter's message) decide their session first,
 * from reads shared by the batch ({@link RouteReads}); then all messages, receipts and
 * tasks are written in a few statements (`writeInjections`, ./inject-write.ts); then the
 * channels' active sessions follow their last stored message.
 */
import type { Channel } from "../store/channels.ts";
import type { Repositories } from "../store/index.ts";
import type { Session } from "../store/sessions.ts";
import {
  type InjectPlan,
  planInjection,
  type TaskCreatedRows,
  type Written,
  writeInjections,
} from "./inject-write.ts";
import type { InjectOptions } from "./service.ts";
import { checkExecutionConfig, checkMessage } from "./validate.ts";

/** What the route of `SessionService.injectRouted` decided inside the transaction. */
export type RouteDecision<S> =
  | { skip: S }
  | {
      session: Session;
      /** The message (its dispatch is the routed call's). */
      message: Omit<InjectOptions, "dispatchConfig" | "dispatchType" | "attachments">;
      /**
       * The channel row the conversation is bound to, as the route read it. After the
       * batch, its active session is the session of the last message (not a duplicate)
       * stored through it, written in the same transaction when that differs from the
       * `activeSessionId` read.
       */
      channel?: Pick<Channel, "id" | "activeSessionId">;
    };

/**
 * What a route reads, in the shared transaction. Reads are kept for the rest of the
 * batch: the routes of one batch asking for the same conversation cost one read. The
 * batch's writes come after all its routes, so every route of a batch sees the rows as
 * they were before it (a channel's active session included: see `RouteDecision.channel`).
 */
export interface RouteReads {
  /** The channel row of `clientId` (`channels.byClientId`). */
  channel(clientId: string): Promise<Channel | undefined>;
  /** The open session of a conversation (`sessions.latestOpen`). */
  openSession(botId: string, clientId: string): Promise<Session | undefined>;
}

/** One input of the bulk write ({@link writeJobs}): a planned message, or one to route first. */
export type InjectJob =
  | { plan: InjectPlan }
  | {
      route: (reads: RouteReads) => Promise<RouteDecision<unknown>>;
      dispatch: { type: string; config: Record<string, unknown> };
      traceparent: string | null;
    };

/** What the bulk write did for one job: skipped (the route's value), or written. */
export type JobOutcome = { skip: unknown } | { plan: InjectPlan; written: Written };

/**
 * Writes one batch of jobs through `tx`: routes first (reads shared across the batch),
 * then every message in a few statements (`writeInjections`), then the channels'
 * activations of messages that were not duplicates.
 * @throws what a route, the checks or the writes throw (the batch then runs job by job)
 */
export async function writeJobs(
  tx: Repositories,
  jobs: InjectJob[],
  taskCreated?: TaskCreatedRows,
): Promise<JobOutcome[]> {
  const reads = routeReads(tx);
  const out: Array<JobOutcome | undefined> = new Array(jobs.length);
  const planned: Array<{
    at: number;
    plan: InjectPlan;
    channel?: Pick<Channel, "id" | "activeSessionId">;
  }> = [];
  for (let at = 0; at < jobs.length; at++) {
    const job = jobs[at]!;
    if ("plan" in job) {
      planned.push({ at, plan: job.plan });
      continue;
    }
    const d = await job.route(reads);
    if ("skip" in d) {
      out[at] = d;
      continue;
    }
    checkMessage(d.message);
    checkExecutionConfig(d.message.executionConfig);
    const plan = planInjection(d.session, {
      ...d.message,
      dispatchType: job.dispatch.type,
      dispatchConfig: job.dispatch.config,
      traceparent: job.traceparent,
    });
    planned.push({ at, plan, ...(d.channel ? { channel: d.channel } : {}) });
  }
  const written = await writeInjections(
    tx,
    planned.map((p) => p.plan),
    taskCreated,
  );
  // Per channel, the session of its last stored message, as one write after another
  // would leave it; written in channel id order (two batches never wait on each other's
  // channel rows in opposite orders).
  const active = new Map<string, { read: string | null; sessionId: string }>();
  planned.forEach(({ at, plan, channel }, i) => {
    const w = written[i]!;
    out[at] = { plan, written: w };
    if (channel && !w.duplicate) {
      active.set(channel.id, { read: channel.activeSessionId, sessionId: plan.sessionId });
    }
  });
  for (const id of [...active.keys()].sort()) {
    const { read, sessionId } = active.get(id)!;
    if (read !== sessionId) await tx.channels.setActiveSession(id, sessionId);
  }
  return out as JobOutcome[];
}

/** The reads of one batch's routes through `tx`, each kept for the batch (see {@link RouteReads}). */
function routeReads(tx: Repositories): RouteReads {
  const channels = new Map<string, Promise<Channel | undefined>>();
  const sessions = new Map<string, Promise<Session | undefined>>();
  return {
    channel: (clientId) => once(channels, clientId, () => tx.channels.byClientId(clientId)),
    openSession: (botId, clientId) =>
      once(sessions, `${botId}\u0000${clientId}`, () => tx.sessions.latestOpen(botId, clientId)),
  };
}

/** The value of `key` in `cache`, loaded by `load` the first time. */
function once<T>(cache: Map<string, T>, key: string, load: () => T): T {
  if (!cache.has(key)) cache.set(key, load());
  return cache.get(key) as T;
}
