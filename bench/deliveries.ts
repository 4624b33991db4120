/**
 * Event deliveries benchmark: signed event deliveries per second through the real app
 * (`app.events.emitEvent` → one outbox row per subscription → inline signed POST →
 * outcome recorded) against a bare loop of POSTs with the same `OutboundHttpClient` to the
 * same receiver at the same concurrency, in one run.
 *
 * Setup: the lean bench receiver (127.0.0.1, answers 200 at once, counts requests);
 * an in-process app (`startTestApp`) on SQLite and, when SWITCHYARD_TEST_POSTGRES_URL is
 * set, on PostgreSQL; S subscriptions with secrets (each signs with Standard Webhooks and
 * X-AMS-Signature), all subscribed to `task.sync`; E emitters calling emitEvent in a loop,
 * so S × E sends are in flight. The bare loop runs S × E workers, each POSTing the same
 * kind of body in a loop, unsigned, with no database.
 *
 * Figures: deliveries/s of both (deliveries / wall time of a measured phase, after a
 * warm-up of both; best of the rounds), and app/bare. The run fails if the receiver did
 * not get every POST or an outbox row is not `delivered`. Goal: the app reaches at least half the bare rate.
 *
 * Hostile cell (issue 11 item 12): one healthy subscriber beside a hanging one, one that
 * answers 10 MB and one that trickles its answer a byte every 500 ms, all subscribed to
 * `task.sync`; events are emitted in the background (`events.emit`, as the core does) at
 * --hostile-rate per second for --hostile-seconds, production lease and timeouts. Printed:
 * the healthy receiver's delivery latency (emit → received) p50/p99 in that cell and in
 * the same cell without the hostile subscribers. Goal: p99 under 1 s.
 *
 * Options (after the bench name): --subs=16 --emitters=1 --deliveries=8000 (per round)
 * --rounds=3 (bare and app alternate; the best round of each is reported)
 * --backend=sqlite,postgres --cells=throughput,hostile --hostile-rate=20 --hostile-seconds=10.
 */
import { availableParallelism, cpus } from "node:os";
import { startTestApp, type TestApp } from "../test/support/app.ts";
import { startCaptureServer } from "../test/support/capture-server.ts";
import { postgresUrl } from "../test/support/db.ts";
import { listOption, option } from "./support/args.ts";
import { type HostileReceiver, startHostile } from "./support/hostile.ts";
import { startReceiver } from "./support/receiver.ts";
import { percentile } from "./support/stats.ts";

export const description = "signed event deliveries/s through the app vs bare POSTs (same client)";

type Backend = "sqlite" | "postgres";

function parseArgs(args: string[]) {
  const backends = (listOption(args, "backend") ??
    (postgresUrl ? ["sqlite", "postgres"] : ["sqlite"])) as Backend[];
  return {
    subs: Number(option(args, "subs") ?? 16),
    emitters: Number(option(args, "emitters") ?? 1),
    deliveries: Number(option(args, "deliveries") ?? 8000),
    rounds: Number(option(args, "rounds") ?? 3),
    backends,
    cells: listOption(args, "cells") ?? ["throughput", "hostile"],
    hostileRate: Number(option(args, "hostile-rate") ?? 20),
    hostileSeconds: Number(option(args, "hostile-seconds") ?? 10),
  };
}

/** Runs the app side: emitters call emitEvent until `events` were emitted. */
async function appPhase(t: TestApp, events: number, emitters: number): Promise<number> {
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: emitters }, async () => {
      while (next < events) {
        const i = next++;
        const r = await t.app.events.emitEvent("task.sync", { i, note: "bench" });
        failed += r.failed;
      }
    }),
  );
  // Every outcome written, so the phase includes all of the outbox's work.
  await t.app.deliveryWorker.outcomesWritten();
  const ms = performance.now() - started;
  if (failed) throw new Error(`${failed} deliveries failed`);
  return ms;
}

/** Runs the bare side: `workers` loops POSTing until `total` were sent. */
async function barePhase(t: TestApp, url: string, total: number, workers: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (next < total) {
        const i = next++;
        const body = JSON.stringify({
          event: "task.sync",
          timestamp: new Date().toISOString(),
          data: { i, note: "bench" },
        });
        const r = await t.app.http.postJson(`${url}/s/${w}`, body, { retries: 2 });
        if (!r.ok) throw new Error(`bare POST failed: ${r.error}`);
      }
    }),
  );
  return performance.now() - started;
}

async function cell(backend: Backend, o: ReturnType<typeof parseArgs>) {
  const recv = await startReceiver({ taskIds: false });
  const t = await startTestApp({ backend, tuning: { pollMs: 1000 } });
  try {
    for (let s = 0; s < o.subs; s++) {
      await t.app.webhooks.registerWebhook({
        url: `${recv.url}/s/${s}`,
        events: ["task.sync"],
        secret: `bench-secret-${s}-0123456789`,
      });
    }
    const concurrency = o.subs * o.emitters;
    const events = Math.max(1, Math.round(o.deliveries / o.subs));
    const total = events * o.subs;
    // Warm-up of both paths (JIT, connection pool, statement caches).
    await appPhase(t, Math.max(1, Math.round(events / 10)), o.emitters);
    await barePhase(t, recv.url, Math.round(total / 10), concurrency);

    // Alternating rounds, best of each: the bare figure is noisy on small machines.
    let bare = 0;
    let app = 0;
    for (let round = 0; round < o.rounds; round++) {
      const before = recv.count();
      bare = Math.max(bare, total / ((await barePhase(t, recv.url, total, concurrency)) / 1000));
      app = Math.max(app, total / ((await appPhase(t, events, o.emitters)) / 1000));
      const received = recv.count() - before;
      if (received !== total * 2)
        throw new Error(`receiver got ${received}, expected ${total * 2}`);
    }
    const rows = await t.app.store.deliveries.countByStatus();
    const notDelivered = rows.filter((r) => r.status !== "delivered");
    if (notDelivered.length) throw new Error(`outbox not all delivered: ${JSON.stringify(rows)}`);
    console.log(
      `  ${backend.padEnd(8)} concurrency ${String(concurrency).padStart(3)} (${o.subs} subs × ${o.emitters} emitters), ` +
        `${total} deliveries × ${o.rounds} rounds, best: ` +
        `app ${app.toFixed(0)}/s  bare ${bare.toFixed(0)}/s  app/bare ${(app / bare).toFixed(2)}`,
    );
  } finally {
    await t.close();
    await recv.close();
  }
}

/**
 * One latency cell: a healthy subscriber (plus the hostile ones when `hostile`), events
 * emitted in the background at `rate`/s for `seconds`; returns the healthy receiver's
 * latencies (ms, sorted) and what the hostile receivers got.
 */
async function latencyCell(
  backend: Backend,
  hostile: boolean,
  o: ReturnType<typeof parseArgs>,
): Promise<{ latencies: number[]; hostileRequests: number[]; missing: number }> {
  const healthy = await startCaptureServer();
  const others: HostileReceiver[] = hostile
    ? await Promise.all((["hanging", "huge", "trickle"] as const).map((k) => startHostile(k)))
    : [];
  // Production lease, timeouts and inline retries: only the poll is the test default's.
  const t = await startTestApp({ backend, tuning: { pollMs: 1000, httpRetryDelayMs: 100 } });
  try {
    for (const url of [healthy.url, ...others.map((h) => h.url)]) {
      await t.app.webhooks.registerWebhook({ url: `${url}/events`, events: ["task.sync"] });
    }
    const total = Math.round(o.hostileRate * o.hostileSeconds);
    const started = Date.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / o.hostileRate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      t.app.events.emit("task.sync", { i, t0: Date.now() });
    }
    const got = await healthy.waitFor(total, 60_000).catch(() => healthy.requests);
    const first = new Map<number, number>();
    for (const r of got) {
      const d = r.json?.data;
      if (d && !first.has(d.i)) first.set(d.i, r.receivedAt - d.t0);
    }
    return {
      latencies: [...first.values()].sort((a, b) => a - b),
      hostileRequests: others.map((h) => h.count()),
      missing: total - first.size,
    };
  } finally {
    for (const h of others) await h.close();
    await healthy.close();
    await t.close();
  }
}

async function hostileCells(backend: Backend, o: ReturnType<typeof parseArgs>) {
  const fmt = (l: number[]) =>
    `p50 ${percentile(l, 50).toFixed(0)} ms  p99 ${percentile(l, 99).toFixed(0)} ms`;
  const calm = await latencyCell(backend, false, o);
  const rough = await latencyCell(backend, true, o);
  console.log(
    `  ${backend.padEnd(8)} healthy receiver latency, ${calm.latencies.length + calm.missing} events at ${o.hostileRate}/s: ` +
      `alone ${fmt(calm.latencies)} | beside hanging + 10 MB + trickling ${fmt(rough.latencies)}` +
      `${rough.missing ? ` (${rough.missing} not delivered within 60 s)` : ""}` +
      ` (hostile receivers got ${rough.hostileRequests.join(" / ")} requests); goal p99 < 1000 ms`,
  );
}

/** Runs the benchmark (see the module comment for options). */
export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `  node ${process.version}, ${availableParallelism()} × ${cpu}; receiver and app in this process; ` +
      `app = emitEvent → outbox row → signed POST (standardwebhooks + X-AMS) → outcome row`,
  );
  for (const backend of o.backends) {
    if (backend === "postgres" && !postgresUrl) {
      console.log("  postgres: SWITCHYARD_TEST_POSTGRES_URL is not set; skipped");
      continue;
    }
    if (o.cells.includes("throughput")) await cell(backend, o);
    if (o.cells.includes("hostile")) await hostileCells(backend, o);
  }
}
