/**
 * Two instances on one PostgreSQL database (two servers, each with its own workers,
 * sweeper and HTTP port): the same decision sent to both at once resolves each approval
 * exactly once (one 200, one 409 naming the first), writes one `approval.decided` event
 * row, and the tool runs once; with a 1 s TTL both sweepers race to expire a request and
 * it expires once. (SQLite is one process's file: the PostgreSQL run is the one that counts;
 * the SQLite run checks the same through one shared file.)
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

async function until<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  const end = Date.now() + 15_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Event delivery rows of `name` about approval `id` (written with the decision). */
async function eventRows(t: TestApp, name: string, id: string): Promise<number> {
  const rows = await t.app.store.db.kysely
    .selectFrom("deliveries")
    .select("payload")
    .where("target_type", "=", "event")
    .execute();
  return rows.filter((r) => {
    const p = JSON.parse(r.payload);
    return p.event === name && p.data?.id === id;
  }).length;
}

for (const backend of ALL_BACKENDS) {
  for (const ttl of ["86400", "1"]) {
    const what = ttl === "1" ? "expiry swept by both" : "the same decision sent to both";
    describe(`two instances on ${backend}: ${what}`, runsOn(backend), () => {
      let a: TestApp;
      let b: TestApp;
      let hook: CaptureServer;
      let runs = 0;
      before(async () => {
        hook = await startCaptureServer();
        const env = { SWITCHYARD_APPROVAL_TTL_SECONDS: ttl };
        const tuning = { approvalSweepMs: 50 };
        a = await startTestApp({ backend, env, tuning });
        const sub = await a.api("POST", "/api/v1/webhooks", {
          url: `${hook.url}/events`,
          events: ["approval.requested", "approval.decided"],
        });
        assert.equal(sub.status, 201, JSON.stringify(sub.body));
        // Before b starts: b would otherwise serve its cached bot for up to 5 s.
        await a.api("PUT", "/api/v1/admin/bots/default", {
          tools: ["transfer"],
          approval: { default: "never", tools: { transfer: "always" } },
        });
        b = await startTestApp({ backend, env, tuning, keepDb: a.db, llm: a.llm });
        for (const t of [a, b]) {
          t.app.tools.register({
            name: "transfer",
            description: "Moves money",
            parameters: { type: "object", properties: { n: { type: "number" } } },
            execute: async () => {
              runs++;
              return "moved";
            },
          });
        }
      });
      after(async () => {
        await b?.close();
        await a?.close();
        await hook?.close();
      });

      test("each approval is resolved exactly once", async () => {
        const N = 4;
        a.llm.reset();
        a.llm.setResponder((req) => {
          const last = req.messages.at(-1);
          if (last?.role === "tool") return { text: `done ${String(last.content).slice(0, 40)}` };
          const n = Number(/#(\d+)/.exec(JSON.stringify(req.messages))?.[1] ?? 0);
          return { toolCalls: [{ name: "transfer", args: { n } }] };
        });
        const tasks: string[] = [];
        for (let i = 0; i < N; i++) {
          const sid = await a.session(`two-${ttl}-${i}-${backend}`);
          const r = await a.api("POST", `/api/v1/sessions/${sid}/messages`, {
            content: `transfer #${i}`,
            run_agent: true,
          });
          tasks.push(r.body.task_id);
        }
        const approvals = await Promise.all(
          tasks.map((id) =>
            until(async () => {
              const r = await b.api("GET", `/api/v1/approvals?task_id=${id}`);
              return r.body[0];
            }, `the approval of ${id}`).catch(async (err) => {
              const t = (await a.api("GET", `/api/v1/tasks/${id}`)).body;
              throw new Error(`${err.message}; task: ${JSON.stringify(t)}`);
            }),
          ),
        );
        if (ttl === "86400") {
          for (const ap of approvals) {
            const [ra, rb] = await Promise.all([
              a.api("POST", `/api/v1/approvals/${ap.id}`, { decision: "approve" }),
              b.api("POST", `/api/v1/approvals/${ap.id}`, { decision: "approve" }),
            ]);
            assert.deepEqual([ra.status, rb.status].sort(), [200, 409], `${ap.id}`);
            const loser = ra.status === 409 ? ra : rb;
            assert.equal(loser.body.approval.status, "approved");
          }
        }
        const done = await Promise.all(tasks.map((id) => a.waitForTask(id, undefined, 15_000)));
        for (const t of done) assert.equal(t.status, "complete", JSON.stringify(t));
        assert.equal(runs, ttl === "1" ? 0 : N, "each approved tool ran once");
        for (const ap of approvals) {
          const row = (await a.api("GET", `/api/v1/approvals/${ap.id}`)).body;
          assert.equal(row.status, ttl === "1" ? "expired" : "approved");
          assert.equal(await eventRows(a, "approval.decided", ap.id), 1, "one resolution");
          assert.equal(await eventRows(a, "approval.requested", ap.id), 1);
        }
        // Each task ran its two model calls and no more (no second resume).
        assert.equal(a.llm.requests.length, 2 * N);
      });

      if (ttl !== "1")
        test("two approvals of one task decided at once on the two instances: the task resumes once", async () => {
          const before = runs;
          for (let round = 0; round < 3; round++) {
            a.llm.reset();
            a.llm.setResponder((req) =>
              req.messages.at(-1)?.role === "tool"
                ? { text: "both done" }
                : {
                    toolCalls: [
                      { name: "transfer", args: { n: 1 } },
                      { name: "transfer", args: { n: 2 } },
                    ],
                  },
            );
            const sid = await a.session(`pair-${round}-${backend}`);
            const taskId = (
              await a.api("POST", `/api/v1/sessions/${sid}/messages`, {
                content: "two transfers",
                run_agent: true,
              })
            ).body.task_id;
            const [x, y] = await until(async () => {
              const r = await a.api("GET", `/api/v1/approvals?task_id=${taskId}`);
              return r.body.length === 2 ? r.body : undefined;
            }, "two approvals");
            const [rx, ry] = await Promise.all([
              a.api("POST", `/api/v1/approvals/${x.id}`, { decision: "approve" }),
              b.api("POST", `/api/v1/approvals/${y.id}`, { decision: "approve" }),
            ]);
            assert.deepEqual([rx.status, ry.status], [200, 200]);
            const done = await a.waitForTask(taskId, undefined, 15_000);
            assert.equal(done.result, "both done", `round ${round}`);
          }
          assert.equal(runs - before, 6);
        });
    });
  }
}
