/**
 * The chaos suite's counts, from what the fakes received and what the API reports after
 * the run has drained:
 * - turns lost: accepted turns (REST message or Slack event with a task id) whose task did
 *   not complete or whose reply never reached the webhook receiver / the fake Slack; a turn
 *   never accepted (every try refused or cut until the deadline) counts as lost too;
 * - duplicate model calls: fake LLM requests per turn (its marker is the last user text)
 *   beyond 1; explained when the task's `attempts` (a lease lost to a kill) cover them;
 * - duplicate deliveries: one delivery id (`webhook-id`, Slack metadata `delivery_id`)
 *   received more than once; a webhook's is explained when its outbox row counts as many
 *   attempts (an earlier attempt cut by a kill or past its lease: outcome unknown, so sent again). A Slack post
 *   twice is never explained (the adapter finds its own post by the metadata before
 *   posting again: exactly once), nor are two delivery ids for one turn;
 * - order violations: per session, user messages listed by the API out of injection order
 *   or listed twice, and model calls (first per turn) out of injection order.
 */

import type { CapturedRequest } from "../support/capture-server.ts";
import { lastUserText } from "../support/fake-llm-script.ts";
import type { FakeLlmRequest } from "../support/fake-llm-wire.ts";
import type { FakeSlackPost } from "../support/fake-slack.ts";
import type { Cluster } from "./cluster.ts";
import type { Turn } from "./load.ts";

/** A count and why each item counted (at most a few lines kept). */
export interface Counted {
  count: number;
  notes: string[];
}

const NOTES_KEPT = 8;
export const counted = (): Counted => ({ count: 0, notes: [] });
export const add = (c: Counted, note: string, n = 1) => {
  c.count += n;
  if (c.notes.length < NOTES_KEPT) c.notes.push(note);
};

/** The turn figures. */
export interface TurnFigures {
  injected: number;
  /** Turns sent again after a cut connection (idempotency key / event id). */
  resent: number;
  lost: Counted;
  /** Model calls beyond one per turn covered by the task's attempts. */
  extraCallsExplained: Counted;
  extraCallsUnexplained: Counted;
  /** Same delivery id received twice, covered by the delivery's attempts. */
  dupDeliveriesExplained: Counted;
  dupDeliveriesUnexplained: Counted;
  orderViolations: Counted;
}

/** The marker of a turn in a model request or a message text, if any. */
export const markerIn = (text: string, runId: string): string | undefined =>
  new RegExp(`chaos ${runId} (?:rest|slack) \\d+ #\\d+`).exec(text)?.[0];

/** Whether a delivery id received `times` is covered by its outbox row's attempts. */
export async function explainDuplicate(
  cluster: Cluster,
  id: string,
  times: number,
  what: string,
  explained: Counted,
  unexplained: Counted,
): Promise<void> {
  const d = await cluster.api("GET", `/api/v1/deliveries/${id}`);
  const note = `${what} ${id} received ${times}×, ${d.attempts} attempts`;
  if (d.attempts >= times)
    add(
      explained,
      `${note} (an earlier attempt's outcome unknown: cut by a kill or past its lease)`,
      times - 1,
    );
  else add(unexplained, note, times - 1);
}

/** What the turn counts read. */
export interface TurnSources {
  cluster: Cluster;
  runId: string;
  turns: Turn[];
  llmRequests: FakeLlmRequest[];
  replies: CapturedRequest[];
  slackPosts: FakeSlackPost[];
}

/** Counts lost turns, duplicate model calls and deliveries, and order violations. */
export async function checkTurns(src: TurnSources): Promise<TurnFigures> {
  const { cluster, turns, runId } = src;
  const f: TurnFigures = {
    injected: turns.length,
    resent: turns.filter((t) => t.cut > 0).length,
    lost: counted(),
    extraCallsExplained: counted(),
    extraCallsUnexplained: counted(),
    dupDeliveriesExplained: counted(),
    dupDeliveriesUnexplained: counted(),
    orderViolations: counted(),
  };

  // Model calls per turn, and the order of first calls per session.
  const calls = new Map<string, number>();
  for (const r of src.llmRequests) {
    const m = markerIn(lastUserText(r.messages), runId);
    if (m) calls.set(m, (calls.get(m) ?? 0) + 1);
  }
  const byMarker = new Map(turns.map((t) => [t.marker, t]));
  const lastCalled = new Map<number, number>();
  const seen = new Set<string>();
  for (const r of src.llmRequests) {
    const m = markerIn(lastUserText(r.messages), runId);
    const t = m ? byMarker.get(m) : undefined;
    if (!t || seen.has(t.marker)) continue;
    seen.add(t.marker);
    const prev = lastCalled.get(t.session) ?? -1;
    if (t.index < prev) add(f.orderViolations, `model saw ${t.marker} after #${prev}`);
    lastCalled.set(t.session, Math.max(prev, t.index));
  }

  // Replies: REST by task id (webhook-id per task), Slack by the marker in the post.
  const restReplies = groupBy(src.replies, (r) => String(r.json?.task_id));
  const slackReplies = groupBy(
    src.slackPosts.filter((p) => p.metadata?.event_type === "switchyard_reply"),
    (p) => markerIn(p.text, runId) ?? "",
  );

  for (const t of turns) {
    const accepted = typeof t.status === "number" && t.status < 300 && t.taskId;
    if (!accepted) {
      add(f.lost, `${t.marker}: never accepted (${t.status} after ${t.tries} tries)`);
      continue;
    }
    if (t.redelivered && t.redelivered.taskId !== t.taskId) {
      add(
        f.dupDeliveriesUnexplained,
        `${t.marker} sent again: ${t.redelivered.status}, task ${t.redelivered.taskId} (first ${t.taskId})`,
      );
    }
    const ids =
      t.via === "rest"
        ? (restReplies.get(t.taskId!) ?? []).map((r) => String(r.headers["webhook-id"]))
        : (slackReplies.get(t.marker) ?? []).map((p) =>
            String(p.metadata?.event_payload?.delivery_id),
          );
    const n = calls.get(t.marker) ?? 0;
    if (ids.length === 0 || n > 1) {
      const task = await cluster.api("GET", `/api/v1/tasks/${t.taskId}`);
      if (ids.length === 0) {
        add(
          f.lost,
          `${t.marker}: task ${t.taskId} ${task.status}, attempts ${task.attempts}, no reply received`,
        );
      }
      if (n > 1) {
        const note = `${t.marker}: ${n} model calls, task attempts ${task.attempts}`;
        if (n <= task.attempts)
          add(
            f.extraCallsExplained,
            `${note} (its lease was lost: a kill, or a renewal too late)`,
            n - 1,
          );
        else {
          add(f.extraCallsExplained, note, task.attempts - 1);
          add(f.extraCallsUnexplained, note, n - task.attempts);
        }
      }
    }
    const distinct = new Set(ids);
    if (distinct.size > 1) {
      add(
        f.dupDeliveriesUnexplained,
        `${t.marker}: ${distinct.size} delivery ids`,
        distinct.size - 1,
      );
    }
    for (const id of distinct) {
      const times = ids.filter((x) => x === id).length;
      if (times > 1 && t.via === "slack") {
        // The chat adapter looks for its own post (metadata delivery_id) before posting
        // again, so a Slack reply is posted once even after an attempt cut by a kill.
        add(f.dupDeliveriesUnexplained, `slack reply ${id} posted ${times}×`, times - 1);
      } else if (times > 1) {
        await explainDuplicate(
          cluster,
          id,
          times,
          `${t.via} reply`,
          f.dupDeliveriesExplained,
          f.dupDeliveriesUnexplained,
        );
      }
    }
  }

  await checkMessageOrder(cluster, turns, runId, f.orderViolations);
  return f;
}

/** Per session, the user messages the API lists must be the accepted turns, in order, once each. */
async function checkMessageOrder(cluster: Cluster, turns: Turn[], runId: string, out: Counted) {
  const sessions = groupBy(turns, (t) => String(t.session));
  for (const list of sessions.values()) {
    const sessionIds = new Set(list.map((t) => t.sessionId).filter(Boolean));
    if (sessionIds.size > 1)
      add(out, `session ${list[0]!.session}: turns went to ${sessionIds.size} sessions`);
    const byMarker = new Map(list.map((t) => [t.marker, t]));
    for (const sid of sessionIds) {
      const msgs = (await cluster.api(
        "GET",
        `/api/v1/sessions/${sid}/messages?limit=1000`,
      )) as any[];
      let prev = -1;
      const listed = new Set<string>();
      for (const m of msgs) {
        if (m.role !== "user") continue;
        const marker = markerIn(String(m.content), runId);
        const t = marker ? byMarker.get(marker) : undefined;
        if (!t) continue;
        if (listed.has(t.marker)) add(out, `${t.marker} listed twice`);
        listed.add(t.marker);
        if (t.index < prev) add(out, `${t.marker} listed after #${prev}`);
        prev = Math.max(prev, t.index);
      }
    }
  }
}

/** Groups `items` by `key`. */
export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const l = m.get(k);
    if (l) l.push(it);
    else m.set(k, [it]);
  }
  return m;
}
