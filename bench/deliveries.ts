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
 * Options (after the bench name): --subs=16 --emitters=1 --deliveries=8000 (per round)
 * --rounds=3 (bare and app alternate; the best round of each is reported)
 * --backend=sqlite,postgres.
 */
import { availableParallelism, cpus } from "node:os";
import { startTestApp, type TestApp } from "../test/support/app.ts";
import { postgresUrl } from "../test/support/db.ts";
import { listOption, option } from "./support/args.ts";
import { startReceiver } from "./support/receiver.ts";

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
    await cell(backend, o);
  }
}
