/**
 * The chaos suite's event and job counts:
 * - events lost: (event, subscriber) pairs that never arrived, for every event the API
 *   accepted (2xx) and every event delivery the outbox recorded (`target_type: "event"`),
 *   whatever the emitting request's fate; duplicate event deliveries by `webhook-id`,
 *   explained by the delivery's attempts as for replies;
 * - job slots: from `GET /api/v1/jobs/{id}/runs`, the slots of the schedule between its
 *   first slot and the moment it was disabled: fired twice (two runs for one
 *   `scheduled_for`), never (no run for it nor a catch-up run covering it), made up by a
 *   catch-up run (`missed: run_once`, `covers` > 1), and runs whose task did not complete.
 */
import type { CapturedRequest } from "../support/capture-server.ts";
import { add, type Counted, counted, explainDuplicate, groupBy } from "./check.ts";
import type { Cluster } from "./cluster.ts";
import type { EmittedEvent } from "./load.ts";

/** The event figures. */
export interface EventFigures {
  emitted: number;
  accepted: number;
  /** Emissions whose connection was cut (outcome unknown, not sent again). */
  cut: number;
  /** …of which the subscribers got (the server had recorded them). */
  cutButRecorded: number;
  lost: Counted;
  dupExplained: Counted;
  dupUnexplained: Counted;
}

/** A subscriber: its subscription id and what it received. */
export interface Subscriber {
  id: string;
  requests: CapturedRequest[];
}

/** Every delivery of `targetType` in the outbox (paged, 500 at a time). */
async function listDeliveries(cluster: Cluster, targetType: string): Promise<any[]> {
  const all: any[] = [];
  let before = "";
  for (;;) {
    const page = (await cluster.api(
      "GET",
      `/api/v1/deliveries?target_type=${targetType}&limit=500${before ? `&before=${before}` : ""}`,
    )) as any[];
    all.push(...page);
    if (page.length < 500) return all;
    before = page[page.length - 1].id;
  }
}

/** Counts lost and duplicate event deliveries. */
export async function checkEvents(
  cluster: Cluster,
  events: EmittedEvent[],
  subs: Subscriber[],
): Promise<EventFigures> {
  const f: EventFigures = {
    emitted: events.length,
    accepted: 0,
    cut: 0,
    cutButRecorded: 0,
    lost: counted(),
    dupExplained: counted(),
    dupUnexplained: counted(),
  };
  const got = subs.map((s) => groupBy(s.requests, (r) => String(r.json?.data?.chaos_id)));
  const ids = new Set(subs.flatMap((s) => s.requests.map((r) => String(r.headers["webhook-id"]))));
  const missing = new Set<string>();
  for (const e of events) {
    const ok = typeof e.status === "number" && e.status < 300;
    if (ok) f.accepted++;
    if (e.status === "cut") {
      f.cut++;
      if (got.some((g) => g.has(e.chaosId))) f.cutButRecorded++;
    }
    const recorded = ok || got.some((g) => g.has(e.chaosId));
    if (!recorded) continue;
    got.forEach((g, i) => {
      if (!g.has(e.chaosId)) missing.add(`${e.chaosId} → subscriber ${i}`);
    });
  }
  // Every event delivery the outbox holds must have reached its subscriber.
  for (const d of await listDeliveries(cluster, "event")) {
    if (ids.has(d.id)) continue;
    const full = await cluster.api("GET", `/api/v1/deliveries/${d.id}`);
    const i = subs.findIndex((s) => s.id === d.subscription_id);
    missing.add(`${full.payload?.data?.chaos_id ?? d.id} → subscriber ${i} (${d.status})`);
  }
  for (const m of missing) add(f.lost, m);
  for (const s of subs) {
    for (const [id, list] of groupBy(s.requests, (r) => String(r.headers["webhook-id"]))) {
      if (list.length > 1) {
        await explainDuplicate(cluster, id, list.length, "event", f.dupExplained, f.dupUnexplained);
      }
    }
  }
  return f;
}

/** The job figures. */
export interface JobFigures {
  /** Slots of the schedule from the first to the last before the job was disabled. */
  slots: number;
  runs: number;
  twice: Counted;
  never: Counted;
  /** Slots made up by a catch-up run (`covers` > 1) after no instance fired them in time. */
  caughtUp: number;
  /** …of which fell while every instance was down (the rest: an instance was up but late). */
  caughtUpAllDown: number;
  /** Runs whose task did not complete (or that have none and are not skipped). */
  unfinished: Counted;
}

/**
 * Counts the job's slots fired twice or never.
 * @param firstSlot its first `next_run_at`, epoch ms
 * @param periodMs its `every_seconds` in ms
 * @param disabledAt when it was disabled, epoch ms: slots up to one period before count
 * @param downtime per instance, its `[from, to]` periods down (epoch ms)
 */
export async function checkJob(
  cluster: Cluster,
  jobId: string,
  firstSlot: number,
  periodMs: number,
  disabledAt: number,
  downtime: Array<Array<[number, number]>>,
): Promise<JobFigures> {
  const runs = (
    (await cluster.api("GET", `/api/v1/jobs/${jobId}/runs?limit=1000`)).items as any[]
  ).filter((r) => !r.manual);
  const slotOf = (iso: string) => (Date.parse(iso) - firstSlot) / periodMs;
  const last = Math.floor((disabledAt - periodMs - firstSlot) / periodMs);
  const f: JobFigures = {
    slots: last + 1,
    runs: runs.length,
    twice: counted(),
    never: counted(),
    caughtUp: 0,
    caughtUpAllDown: 0,
    unfinished: counted(),
  };
  const covered = new Map<number, number>();
  for (const r of runs) {
    const k = slotOf(r.scheduled_for);
    if (!Number.isInteger(k))
      add(f.twice, `run ${r.id} at ${r.scheduled_for}: not a slot of the schedule`);
    for (let c = 0; c < (r.covers ?? 1); c++) covered.set(k - c, (covered.get(k - c) ?? 0) + 1);
    for (let c = 1; c < (r.covers ?? 1); c++) {
      f.caughtUp++;
      const at = firstSlot + (k - c) * periodMs;
      if (downtime.every((d) => d.some(([from, to]) => from <= at && at <= to)))
        f.caughtUpAllDown++;
    }
    if (r.status !== "complete" && r.status !== "skipped") {
      add(
        f.unfinished,
        `run for ${r.scheduled_for}: ${r.status}${r.reason ? ` (${r.reason})` : ""}`,
      );
    }
  }
  for (let k = 0; k <= last; k++) {
    const n = covered.get(k) ?? 0;
    const at = new Date(firstSlot + k * periodMs).toISOString();
    if (n === 0) add(f.never, `slot ${at} never fired`);
    if (n > 1) add(f.twice, `slot ${at} fired ${n}×`, n - 1);
  }
  return f;
}
