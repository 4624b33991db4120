/**
 * Approvals' edges that the approval suites leave open (written for mutation testing,
 * `npm run mutate -- approvals`): every combination of a bot's policy and a run's
 * tightening, how an approval is shown to an adapter with its arguments masked (pure
 * functions), and the service (src/approvals/service.ts) driven directly on one SQLite
 * store with an injected clock and recording hooks: park, decide as compare-and-set,
 * decisions from a conversation, the expiry sweep, settleForTask and what a run resumes
 * with. The same over HTTP with a real model is covered by the approval suites.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import pino from "pino";
import { approvalPolicySchema, toolNeedsApproval, toPolicy } from "../src/approvals/policy.ts";
import { ApprovalService } from "../src/approvals/service.ts";
import { resumeMessages } from "../src/approvals/turn.ts";
import { approvalJson, approvalView, redactArgs } from "../src/approvals/view.ts";
import type { Approval } from "../src/store/approvals.ts";
import type { Bot } from "../src/store/bots.ts";
import { Store } from "../src/store/index.ts";
import { createTestDatabase, type TestDatabase } from "./support/db.ts";
import { until } from "./support/wait.ts";

describe("who waits: a bot's policy tightened by the run's", () => {
  const policy = { default: "never" as const, tools: { deploy: "always" as const } };
  const strict = { default: "always" as const, tools: { lookup: "never" as const } };
  const cases: Array<[string, Parameters<typeof toolNeedsApproval>, boolean]> = [
    ["no policy, no tightening", ["deploy", null, undefined], false],
    ["no policy, undefined", ["deploy", undefined, null], false],
    ["named always", ["deploy", policy], true],
    ["not named: the default never", ["lookup", policy], false],
    ["default always", ["deploy", strict], true],
    ["named never under default always", ["lookup", strict], false],
    ["policy without tools", ["x", { default: "always", tools: undefined as never }], true],
    ["policy without tools, never", ["x", { default: "never", tools: undefined as never }], false],
    ["an inherited name is not a tool rule", ["toString", policy], false],
    ["tightening default always", ["lookup", policy, { default: "always" }], true],
    ["tightening default always over never", ["lookup", strict, { default: "always" }], true],
    ["tightening names the tool", ["lookup", policy, { tools: { lookup: "always" } }], true],
    ["tightening names another tool", ["lookup", policy, { tools: { other: "always" } }], false],
    ["tightening without tools", ["lookup", null, {}], false],
    ["tightening of an inherited name", ["constructor", null, { tools: {} }], false],
    ["tightening alone names the tool", ["lookup", null, { tools: { lookup: "always" } }], true],
  ];
  for (const [what, args, want] of cases) {
    test(`${what} → ${want ? "waits" : "runs"}`, () => {
      assert.equal(toolNeedsApproval(...args), want);
    });
  }

  test("tool names in a policy are 1–64 letters, digits, _ or -, checked end to end", () => {
    const ok = (name: string) =>
      approvalPolicySchema.safeParse({ default: "never", tools: { [name]: "always" } });
    assert.equal(ok("deploy_v2-x").success, true);
    assert.equal(ok("a".repeat(64)).success, true);
    for (const bad of ["!deploy", "deploy!", "a".repeat(65), ""]) {
      const r = ok(bad);
      assert.equal(r.success, false, bad);
      assert.match(
        JSON.stringify(r.error?.issues),
        /tool names are 1–64 letters, digits, _ or -/,
        bad,
      );
    }
  });

  test("a stored policy has its tools filled in and is a copy", () => {
    const tools = { deploy: "always" as const };
    const p = toPolicy({ default: "never", tools });
    assert.deepEqual(p, { default: "never", tools: { deploy: "always" } });
    assert.notEqual(p.tools, tools);
    assert.deepEqual(toPolicy({ default: "always" }), { default: "always", tools: {} });
  });
});

describe("how an approval's arguments are shown", () => {
  test("values under secret-named keys are masked at any depth, through arrays; others are kept", () => {
    assert.deepEqual(
      redactArgs({
        service: "api",
        url: "https://example.com/hook?x=1",
        api_token: "s3cr3t",
        nested: { password: "p", keep: 1, list: [{ secret: "s", n: 2 }] },
        credentials: { user: "u", inner: { deep: "d" }, many: ["a", 5] },
        empty: null,
        none: undefined,
        token: null,
      }),
      {
        service: "api",
        url: "https://example.com/hook?x=1",
        api_token: "****",
        nested: { password: "****", keep: 1, list: [{ secret: "****", n: 2 }] },
        credentials: { user: "****", inner: { deep: "****" }, many: ["****", "****"] },
        empty: null,
        none: undefined,
        token: null,
      },
    );
    assert.deepEqual(redactArgs(["a", 1, true]), ["a", 1, true]);
    assert.equal(redactArgs("plain"), "plain");
    assert.equal(redactArgs(null), null);
  });

  test("the wire shape has ISO 8601 times, and null for a time not reached", () => {
    const a = {
      id: "a1",
      taskId: "t1",
      sessionId: "s1",
      botId: "b",
      tool: "deploy",
      toolCallId: "c1",
      sdkApprovalId: "x",
      args: { password: "p" },
      status: "pending" as const,
      requestedAt: Date.parse("2025-01-01T00:00:00Z"),
      expiresAt: Date.parse("2025-01-02T00:00:00Z"),
      decidedBy: null,
      decidedAt: null,
      reason: null,
      requestPost: null,
      executedAt: null,
    };
    const j = approvalJson(a);
    assert.equal(j.requested_at, "2025-01-01T00:00:00.000Z");
    assert.equal(j.expires_at, "2025-01-02T00:00:00.000Z");
    assert.equal(j.decided_at, null);
    assert.deepEqual(j.args, { password: "****" });
    assert.equal(approvalJson({ ...a, decidedAt: 0 }).decided_at, "1970-01-01T00:00:00.000Z");
  });

  test("an adapter's view names the decider and the reason only when there are some", () => {
    const base = {
      id: "a1",
      taskId: "t1",
      sessionId: "s1",
      botId: "b",
      tool: "deploy",
      toolCallId: "c1",
      sdkApprovalId: "x",
      args: { token: "t", service: "api" },
      status: "pending" as const,
      requestedAt: 1000,
      expiresAt: 2000,
      decidedBy: null,
      decidedAt: null,
      reason: null,
      requestPost: null,
      executedAt: null,
    };
    assert.deepEqual(approvalView(base), {
      id: "a1",
      taskId: "t1",
      tool: "deploy",
      args: { token: "****", service: "api" },
      argsText: '{"token":"****","service":"api"}',
      status: "pending",
      expiresAt: 2000,
    });
    // The one line an adapter shows is cut at 1,200 characters, the cut marked.
    const long = approvalView({ ...base, args: { text: "x".repeat(5000) } }).argsText;
    assert.equal(long.length, 1200);
    assert.ok(long.endsWith("…"));
    assert.ok(long.startsWith('{"text":"xxx'));
    const exact = '{"t":"' + "y".repeat(1200 - 8) + '"}';
    assert.equal(exact.length, 1200, "exactly at the limit: not cut");
    assert.equal(approvalView({ ...base, args: JSON.parse(exact) }).argsText, exact);
    assert.deepEqual(
      approvalView({ ...base, status: "denied", decidedBy: "chat:u1", reason: "no" }),
      {
        id: "a1",
        taskId: "t1",
        tool: "deploy",
        args: { token: "****", service: "api" },
        argsText: '{"token":"****","service":"api"}',
        status: "denied",
        expiresAt: 2000,
        decidedBy: "chat:u1",
        reason: "no",
      },
    );
  });
});

/** The service (src/approvals/service.ts) on one SQLite store, with an injected clock. */
describe("the approval service: park, decide, expire, settle", () => {
  const T0 = Date.parse("2026-01-01T00:00:00Z");
  const TTL = 60_000;
  let db: TestDatabase;
  let store: Store;
  let now = T0;
  const events: Array<{ name: string; data: Record<string, unknown> }> = [];
  /** What the fake event queue says it wrote per event (outbox rows). */
  let eventRows = 1;
  const runnable: string[] = [];
  let outboxWakes = 0;
  const logs: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, { write: (s: string) => logs.push(JSON.parse(s)) });
  let svc: ApprovalService;
  let sessionId: string;
  let plainSessionId: string;
  const conv = { team: "T", channel: "C1", thread: "th1" };

  /** A service over `store` (or a fake one) with the recording hooks. */
  const service = (over: Partial<ConstructorParameters<typeof ApprovalService>[0]> = {}) =>
    new ApprovalService({
      store,
      log,
      ttlMs: TTL,
      now: () => now,
      events: {
        prepare: async () => undefined,
        queue: async (_tx, name, data) => {
          events.push({ name, data });
          return eventRows;
        },
      },
      isAdapter: (type) => type === "chat",
      onRunnable: (id) => runnable.push(id),
      onOutbox: () => {
        outboxWakes++;
      },
      ...over,
    });

  /** A running task leased by `owner` (`chat` adapter replies unless `plain`). */
  async function runningTask(opts: { plain?: boolean; owner?: string; config?: unknown } = {}) {
    const t = await store.tasks.insert({
      sessionId: opts.plain ? plainSessionId : sessionId,
      botId: "default",
      prompt: "p",
      dispatchType: opts.plain ? "none" : "chat",
      dispatchConfig:
        opts.config !== undefined
          ? (opts.config as Record<string, unknown> | null)
          : opts.plain
            ? null
            : { type: "chat", conversation: conv },
    });
    await store.db.kysely
      .updateTable("tasks")
      .set({ status: "running", lease_owner: opts.owner ?? "w1" })
      .where("id", "=", t.id)
      .execute();
    return (await store.tasks.get(t.id))!;
  }

  const request = (n: number, input: unknown = { n }) => ({
    approvalId: `sdk-${n}`,
    toolCallId: `call-${n}`,
    toolName: `tool${n}`,
    input,
  });

  const turn = (requests: ReturnType<typeof request>[]) => ({
    messages: [
      { role: "user", content: "go" },
      {
        role: "assistant",
        content: requests.map((r) => ({
          type: "tool-approval-request",
          approvalId: r.approvalId,
          toolCall: {
            type: "tool-call",
            toolCallId: r.toolCallId,
            toolName: r.toolName,
            input: r.input,
          },
        })),
      },
    ] as never[],
    model: "fake:m",
    steps: 2,
    toolCalls: 3,
    requests,
  });

  /** Parks a fresh task on `n` requests; returns it and its approvals (in request order). */
  async function parked(n = 1, opts: { plain?: boolean; config?: unknown } = {}) {
    const task = await runningTask(opts);
    assert.equal(
      await svc.park(task, turn(Array.from({ length: n }, (_, i) => request(i + 1)))),
      true,
    );
    const rows = await store.approvals.listForTask(task.id);
    rows.sort((a, b) => a.toolCallId.localeCompare(b.toolCallId, "en", { numeric: true }));
    return { task, rows };
  }

  const deliveriesOf = (taskId: string) => store.deliveries.list({ taskId, limit: 100 });

  before(async () => {
    db = await createTestDatabase("sqlite");
    store = await Store.open(db.url);
    await store.bots.create({ id: "default", model: "fake:m" });
    sessionId = (await store.sessions.getOrCreate("default", "appr:chat")).session.id;
    plainSessionId = (await store.sessions.getOrCreate("default", "appr:plain")).session.id;
    svc = service();
  });
  after(async () => {
    await store?.db.close();
    await db?.drop();
  });
  beforeEach(() => {
    now = T0;
    eventRows = 1;
  });

  test("park: the task waits, its turn and requests are stored, events and outputs queued", async () => {
    const task = await runningTask();
    const e0 = events.length;
    const l0 = logs.length;
    const w0 = outboxWakes;
    const t = turn([request(1), { ...request(2), input: undefined }]);
    assert.equal(await svc.park(task, t), true);
    const after = (await store.tasks.get(task.id))!;
    assert.equal(after.status, "waiting_approval");
    assert.equal(after.leaseOwner, null);
    const cp = await store.approvals.checkpoint(task.id);
    assert.deepEqual(
      { messages: cp?.messages, model: cp?.model, steps: cp?.steps, toolCalls: cp?.toolCalls },
      { messages: JSON.parse(JSON.stringify(t.messages)), model: "fake:m", steps: 2, toolCalls: 3 },
    );
    const rows = (await store.approvals.listForTask(task.id)).sort((a, b) =>
      a.toolCallId.localeCompare(b.toolCallId),
    );
    assert.equal(rows.length, 2);
    for (const [i, a] of rows.entries()) {
      assert.deepEqual(
        { ...a, id: "" },
        {
          id: "",
          taskId: task.id,
          sessionId,
          botId: "default",
          tool: `tool${i + 1}`,
          toolCallId: `call-${i + 1}`,
          sdkApprovalId: `sdk-${i + 1}`,
          args: i === 0 ? { n: 1 } : null,
          status: "pending",
          requestedAt: T0,
          expiresAt: T0 + TTL,
          decidedBy: null,
          decidedAt: null,
          reason: null,
          requestPost: null,
          executedAt: null,
        },
      );
    }
    assert.deepEqual(
      events.slice(e0),
      rows.map((a) => ({ name: "approval.requested", data: approvalJson(a) })),
    );
    const outs = await deliveriesOf(task.id);
    assert.deepEqual(
      outs
        .map((d) => [d.targetType, d.target, d.payload])
        .sort((x, y) =>
          String((x[2] as { approval_id: string }).approval_id).localeCompare(
            String((y[2] as { approval_id: string }).approval_id),
          ),
        ),
      rows
        .map((a) => [
          "chat",
          { type: "chat", conversation: conv },
          { kind: "approval_request", task_id: task.id, approval_id: a.id },
        ])
        .sort((x, y) =>
          String((x[2] as { approval_id: string }).approval_id).localeCompare(
            String((y[2] as { approval_id: string }).approval_id),
          ),
        ),
    );
    assert.equal(outboxWakes, w0 + 1);
    const line = logs.slice(l0).find((l) => l.msg === "task waiting for approval");
    assert.ok(line, JSON.stringify(logs.slice(l0)));
    assert.equal(line.task_id, task.id);
    assert.deepEqual(new Set(line.approvals as string[]), new Set(rows.map((a) => a.id)));
    assert.deepEqual(new Set(line.tools as string[]), new Set(["tool1", "tool2"]));
  });

  test("park: one request, one event and one output wake the outbox; none, no wake", async () => {
    const w0 = outboxWakes;
    await parked(1);
    assert.equal(outboxWakes, w0 + 1);
    // No adapter and no event rows: nothing to send.
    eventRows = 0;
    const { task } = await parked(1, { plain: true });
    assert.equal(outboxWakes, w0 + 1);
    assert.deepEqual(await deliveriesOf(task.id), []);
    // An adapter task without a dispatch config: the output's target is empty.
    const bare = await parked(1, { config: null });
    const [d] = await deliveriesOf(bare.task.id);
    assert.deepEqual(d?.target, {});
  });

  test("park: a task that is no longer this run's is left alone", async () => {
    const noOwner = { ...(await runningTask()), leaseOwner: null };
    const e0 = events.length;
    const l0 = logs.length;
    assert.equal(await svc.park(noOwner, turn([request(1)])), false);
    const taken = await runningTask({ owner: "w2" });
    const w0 = outboxWakes;
    assert.equal(await svc.park({ ...taken, leaseOwner: "w1" }, turn([request(1)])), false);
    assert.equal((await store.tasks.get(taken.id))?.status, "running");
    assert.deepEqual(await store.approvals.listForTask(taken.id), []);
    assert.deepEqual(await store.approvals.listForTask(noOwner.id), []);
    assert.equal(await store.approvals.checkpoint(taken.id), undefined);
    assert.equal(events.length, e0);
    assert.equal(outboxWakes, w0);
    assert.equal(
      logs.slice(l0).some((l) => l.msg === "task waiting for approval"),
      false,
      "nothing is said about a park that did not happen",
    );
  });

  test("decide: approve and deny; the last one puts the task back in the queue", async () => {
    const { task, rows } = await parked(2);
    const [a1, a2] = rows as [Approval, Approval];
    now = T0 + 5000;
    const e0 = events.length;
    const r0 = runnable.length;
    const l0 = logs.length;
    const w0 = outboxWakes;
    const first = await svc.decide(a1.id, { decision: "approve", decidedBy: "key:ops" });
    assert.equal(first.outcome, "decided");
    assert.ok(first.outcome === "decided");
    assert.equal(first.resumed, false);
    assert.deepEqual(first.approval, (await store.approvals.get(a1.id))!);
    assert.equal(first.approval.status, "approved");
    assert.equal(first.approval.decidedBy, "key:ops");
    assert.equal(first.approval.decidedAt, T0 + 5000);
    assert.equal(first.approval.reason, null);
    assert.equal((await store.tasks.get(task.id))?.status, "waiting_approval");
    assert.equal(runnable.length, r0);
    const line = logs.slice(l0).find((l) => l.msg === "approval decided");
    assert.deepEqual(
      {
        approval_id: line?.approval_id,
        task_id: line?.task_id,
        status: line?.status,
        decided_by: line?.decided_by,
      },
      { approval_id: a1.id, task_id: task.id, status: "approved", decided_by: "key:ops" },
    );
    now = T0 + 6000;
    assert.equal(outboxWakes, w0 + 1, "the decided event and output woke the outbox");
    const second = await svc.decide(a2.id, {
      decision: "deny",
      decidedBy: "key:ops",
      reason: "not now",
    });
    assert.ok(second.outcome === "decided");
    assert.equal(second.resumed, true);
    assert.equal(second.approval.status, "denied");
    assert.equal(second.approval.reason, "not now");
    const back = (await store.tasks.get(task.id))!;
    assert.equal(back.status, "pending");
    assert.equal(back.runAt, T0 + 6000);
    assert.deepEqual(runnable.slice(r0), [sessionId]);
    assert.deepEqual(events.slice(e0), [
      { name: "approval.decided", data: approvalJson(first.approval) },
      { name: "approval.decided", data: approvalJson(second.approval) },
    ]);
    const decidedOuts = (await deliveriesOf(task.id))
      .map((d) => d.payload)
      .filter((p) => p.kind === "approval_decided");
    assert.deepEqual(
      new Set(decidedOuts.map((p) => JSON.stringify(p))),
      new Set(
        [a1, a2].map((a) =>
          JSON.stringify({ kind: "approval_decided", task_id: task.id, approval_id: a.id }),
        ),
      ),
    );
    // Nothing to send (no adapter, no event rows): the outbox is not woken.
    eventRows = 0;
    const quiet = await parked(1, { plain: true });
    const w1 = outboxWakes;
    const q = await svc.decide(quiet.rows[0]!.id, { decision: "approve", decidedBy: "x" });
    assert.equal(q.outcome, "decided");
    assert.equal(outboxWakes, w1);
  });

  test("decide: the first decision stands; unknown ids are not found", async () => {
    const { rows } = await parked(1);
    const a = rows[0]!;
    await svc.decide(a.id, { decision: "deny", decidedBy: "first" });
    const e0 = events.length;
    const w0 = outboxWakes;
    const late = await svc.decide(a.id, { decision: "approve", decidedBy: "second" });
    assert.equal(late.outcome, "already_decided");
    assert.ok(late.outcome === "already_decided");
    assert.equal(late.approval.status, "denied");
    assert.equal(late.approval.decidedBy, "first");
    assert.equal(events.length, e0);
    assert.equal(outboxWakes, w0);
    assert.deepEqual(await svc.decide("nope", { decision: "approve", decidedBy: "x" }), {
      outcome: "not_found",
    });
  });

  test("decide: a reason is cut at 2000 characters; an empty one is none", async () => {
    const { rows } = await parked(3);
    const long = await svc.decide(rows[0]!.id, {
      decision: "deny",
      decidedBy: "x",
      reason: "r".repeat(2500),
    });
    assert.ok(long.outcome === "decided");
    assert.equal(long.approval.reason, "r".repeat(2000));
    const empty = await svc.decide(rows[1]!.id, { decision: "deny", decidedBy: "x", reason: "" });
    assert.ok(empty.outcome === "decided");
    assert.equal(empty.approval.reason, null);
  });

  test("decide: a refused check is forbidden and changes nothing; the check sees the task", async () => {
    const { task, rows } = await parked(1);
    const a = rows[0]!;
    const seen: Array<[string, string | undefined]> = [];
    const no = await svc.decide(a.id, { decision: "approve", decidedBy: "x" }, (ap, t) => {
      seen.push([ap.id, t?.id]);
      return false;
    });
    assert.deepEqual(no, { outcome: "forbidden", approval: await store.approvals.get(a.id) });
    assert.equal((await store.approvals.get(a.id))?.status, "pending");
    assert.deepEqual(seen, [[a.id, task.id]]);
    const yes = await svc.decide(a.id, { decision: "approve", decidedBy: "x" }, () => true);
    assert.equal(yes.outcome, "decided");
  });

  test("decide: a task no longer waiting expires its requests, naming why", async () => {
    const { task, rows } = await parked(1);
    await store.db.kysely
      .updateTable("tasks")
      .set({ status: "cancelled" })
      .where("id", "=", task.id)
      .execute();
    const r = await svc.decide(rows[0]!.id, { decision: "approve", decidedBy: "key:ops" });
    assert.ok(r.outcome === "decided");
    assert.equal(r.approval.status, "expired");
    assert.equal(r.approval.decidedBy, "key:ops");
    assert.equal(r.approval.reason, "the task is no longer waiting (cancelled)");
    assert.equal(r.resumed, false);
    assert.equal((await store.tasks.get(task.id))?.status, "cancelled");
    // A task that is gone: no output can be sent for it.
    const gone = await parked(1, { plain: true });
    await store.db.kysely.deleteFrom("tasks").where("id", "=", gone.task.id).execute();
    const g = await svc.decide(gone.rows[0]!.id, { decision: "approve", decidedBy: "x" });
    assert.ok(g.outcome === "decided");
    assert.equal(g.approval.reason, "the task is no longer waiting (deleted)");
  });

  test("a decision in a conversation: only its own conversation, recorded as adapter:user", async () => {
    const { rows } = await parked(4);
    const base = {
      approvalId: rows[0]!.id,
      decision: "approve",
      actor: { id: "U9" },
      conversation: conv,
    };
    const refuse = async (input: unknown, adapter = "chat") => {
      const r = await svc.decideFromConversation(adapter, input as never);
      assert.equal(r.outcome, "forbidden", JSON.stringify(input));
    };
    await refuse(base, "other");
    await refuse({ ...base, conversation: undefined });
    await refuse({ ...base, conversation: { channel: 5 } });
    await refuse({ ...base, conversation: { ...conv, channel: "C2" } });
    await refuse({ ...base, conversation: { ...conv, team: "U" } });
    await refuse({ ...base, conversation: { ...conv, thread: "th2" } });
    const notFound = async (input: unknown) =>
      assert.deepEqual(await svc.decideFromConversation("chat", input as never), {
        outcome: "not_found",
      });
    await notFound(undefined);
    await notFound({ ...base, approvalId: 7 });
    await notFound({ ...base, approvalId: "" });
    await notFound({ ...base, decision: "maybe" });
    await notFound({ ...base, approvalId: "0190f1d2-7c3b-7a10-9e55-3f0c2b6d9a99" });
    assert.equal((await store.approvals.get(rows[0]!.id))?.status, "pending");

    // The channel without a thread reaches a threaded request; reason kept when a string.
    const ok = await svc.decideFromConversation("chat", {
      ...base,
      conversation: { team: "T", channel: "C1" },
      reason: "fine",
    } as never);
    assert.equal(ok.outcome, "decided");
    assert.ok(ok.outcome === "decided");
    const stored = (await store.approvals.get(rows[0]!.id))!;
    assert.deepEqual(ok.approval, approvalView(stored));
    assert.equal(stored.decidedBy, "chat:U9");
    assert.equal(stored.reason, "fine");
    const deny = await svc.decideFromConversation("chat", {
      approvalId: rows[1]!.id,
      decision: "deny",
      reason: 42,
      conversation: { ...conv },
    } as never);
    assert.equal(deny.outcome, "decided");
    const d = (await store.approvals.get(rows[1]!.id))!;
    assert.equal(d.status, "denied");
    assert.equal(d.decidedBy, "chat:unknown");
    assert.equal(d.reason, null);
    const again = await svc.decideFromConversation("chat", { ...base } as never);
    assert.deepEqual(again, { outcome: "already_decided", approval: approvalView(stored) });
    const numeric = await svc.decideFromConversation("chat", {
      ...base,
      approvalId: rows[2]!.id,
      actor: { id: 12 },
    } as never);
    assert.equal(numeric.outcome, "decided");
    assert.equal((await store.approvals.get(rows[2]!.id))?.decidedBy, "chat:12");
  });

  test("a decision in a conversation: a task without a conversation is nobody's", async () => {
    for (const config of [
      null,
      { type: "chat" },
      { type: "chat", conversation: { thread: "x" } },
    ]) {
      const { rows } = await parked(1, { config });
      const r = await svc.decideFromConversation("chat", {
        approvalId: rows[0]!.id,
        decision: "approve",
        actor: { id: "U1" },
        conversation: conv,
      } as never);
      assert.equal(r.outcome, "forbidden", JSON.stringify(config));
    }
    // A task that is gone is nobody's either.
    const gone = await parked(1);
    await store.db.kysely.deleteFrom("deliveries").where("task_id", "=", gone.task.id).execute();
    await store.db.kysely.deleteFrom("tasks").where("id", "=", gone.task.id).execute();
    const g = await svc.decideFromConversation("chat", {
      approvalId: gone.rows[0]!.id,
      decision: "approve",
      actor: { id: "U1" },
      conversation: conv,
    } as never);
    assert.equal(g.outcome, "forbidden");
    // A request without a thread is decided from any thread of its channel.
    const { rows } = await parked(1, {
      config: { type: "chat", conversation: { team: "T", channel: "C1" } },
    });
    const r = await svc.decideFromConversation("chat", {
      approvalId: rows[0]!.id,
      decision: "approve",
      actor: { id: "U1" },
      conversation: conv,
    } as never);
    assert.equal(r.outcome, "decided");
  });

  test("sweep: requests whose time ran out expire, by expiry; younger ones wait", async () => {
    const old = await parked(1);
    now = T0 + 1000;
    const young = await parked(1);
    now = T0 + TTL; // exactly the first one's expiry
    await svc.sweep();
    const o = (await store.approvals.get(old.rows[0]!.id))!;
    assert.equal(o.status, "expired");
    assert.equal(o.decidedBy, "expiry");
    assert.equal(o.reason, null);
    assert.equal((await store.approvals.get(young.rows[0]!.id))?.status, "pending");
    assert.equal((await store.tasks.get(old.task.id))?.status, "pending", "back in the queue");
  });

  test("sweep: more than one batch of 100 in one sweep; concurrent sweeps share one", async () => {
    const big = await parked(150, { plain: true });
    now = T0 + TTL + 1;
    const a = svc.sweep();
    const b = svc.sweep();
    assert.equal(a, b);
    await a;
    const left = (await store.approvals.listForTask(big.task.id)).filter(
      (x) => x.status === "pending",
    );
    assert.equal(left.length, 0);
  });

  test("sweep: a failure is logged, never thrown, and the next sweep tries again", async () => {
    let calls = 0;
    const broken = service({
      store: {
        approvals: {
          expiredIds: async () => {
            calls++;
            throw new Error("db down");
          },
        },
      } as never,
    });
    const l0 = logs.length;
    await broken.sweep();
    await broken.sweep();
    assert.equal(calls, 2);
    const warned = logs.slice(l0).filter((l) => l.msg === "approval expiry sweep failed");
    assert.equal(warned.length, 2);
    assert.equal(warned[0]!.err, "db down");
    // Even what is thrown is not an Error.
    const odd = service({
      store: { approvals: { expiredIds: () => Promise.reject(undefined) } } as never,
    });
    await odd.sweep();
    assert.equal(logs.at(-1)?.msg, "approval expiry sweep failed");
  });

  test("start sweeps now and every sweepMs (default min(5 s, TTL)); stop ends it", async () => {
    // Within 2 s: a 5 s interval (the default cap) would be too slow.
    const expired = (id: string) =>
      until(
        async () => (await store.approvals.get(id))?.status === "expired",
        `${id} to expire`,
        2000,
      );
    const timed = service({ sweepMs: 20, ttlMs: 3600_000 });
    const first = await parked(1);
    now = T0 + TTL;
    timed.start();
    try {
      await expired(first.rows[0]!.id);
      // Expires later: found by a later tick.
      now = T0;
      const later = await parked(1);
      now = T0 + TTL;
      await expired(later.rows[0]!.id);
    } finally {
      await timed.stop();
    }
    // Without sweepMs a short TTL sets the pace.
    const short = service({ ttlMs: 30 });
    short.start();
    try {
      now = T0;
      const p = await parked(1);
      now = T0 + TTL;
      await expired(p.rows[0]!.id);
    } finally {
      await short.stop();
    }
  });

  test("stop waits for a sweep in progress and ends the ticking", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const slow = service({
      sweepMs: 5,
      store: {
        approvals: {
          expiredIds: async () => {
            calls++;
            if (calls === 1) await gate;
            return [];
          },
        },
      } as never,
    });
    slow.start();
    let stopped = false;
    const stopping = slow.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false, "the sweep in progress is still running");
    release();
    await stopping;
    const after = calls;
    // A sentinel ticking at the same pace: once it ticked 5 times the stopped one would have too.
    let ticks = 0;
    const sentinel = service({
      sweepMs: 5,
      store: {
        approvals: {
          expiredIds: async () => {
            ticks++;
            return [];
          },
        },
      } as never,
    });
    sentinel.start();
    try {
      await until(() => ticks >= 5, "the sentinel to tick", 5000);
    } finally {
      await sentinel.stop();
    }
    assert.equal(calls, after, "no sweep after stop");
  });

  test("settleForTask: a cancelled task's pending requests expire with the reason; decided ones stay", async () => {
    const { task, rows } = await parked(2);
    await svc.decide(rows[0]!.id, { decision: "approve", decidedBy: "key:a" });
    await store.db.kysely
      .updateTable("tasks")
      .set({ status: "cancelled" })
      .where("id", "=", task.id)
      .execute();
    const e0 = events.length;
    await svc.settleForTask(task.id, "cancel:ops");
    const [a1, a2] = [
      await store.approvals.get(rows[0]!.id),
      await store.approvals.get(rows[1]!.id),
    ];
    assert.equal(a1?.status, "approved");
    assert.equal(a1?.decidedBy, "key:a");
    assert.equal(a2?.status, "expired");
    assert.equal(a2?.decidedBy, "cancel:ops");
    assert.equal(a2?.reason, "the task is no longer waiting (cancelled)");
    assert.equal(events.length, e0 + 1);
    // A failure is logged, not thrown.
    const broken = service({
      store: { approvals: { listForTask: async () => Promise.reject(new Error("gone")) } } as never,
    });
    const l0 = logs.length;
    await broken.settleForTask("t-x", "cancel:ops");
    const w = logs.slice(l0).find((l) => l.msg === "approvals of a cancelled task not settled");
    assert.equal(w?.err, "gone");
    assert.equal(w?.task_id, "t-x");
    const odd = service({
      store: { approvals: { listForTask: () => Promise.reject(undefined) } } as never,
    });
    await odd.settleForTask("t-y", "cancel:ops");
    assert.equal(logs.at(-1)?.task_id, "t-y");
  });

  test("forRun: a fresh task follows the policy and resumes nothing", async () => {
    const task = await runningTask();
    const bot = { approval: { default: "never", tools: { deploy: "always" } } } as unknown as Bot;
    const r = await svc.forRun(task, bot);
    assert.equal("resume" in r, false);
    assert.equal(r.needsApproval("deploy", "c1"), true);
    assert.equal(r.needsApproval("lookup", "c1"), false);
    assert.equal(await r.beforeRun("c1"), null);
    const tightened = await svc.forRun(
      { ...task, executionConfig: { approval: { default: "always" } } },
      bot,
    );
    assert.equal(tightened.needsApproval("lookup", "c1"), true);
  });

  test("forRun: a parked task resumes with the decisions; an approved call runs once", async () => {
    const { task, rows } = await parked(2);
    now = T0 + 7000;
    await svc.decide(rows[0]!.id, { decision: "approve", decidedBy: "x" });
    await svc.decide(rows[1]!.id, { decision: "deny", decidedBy: "x" });
    const bot = { approval: null } as unknown as Bot;
    const r = await svc.forRun((await store.tasks.get(task.id))!, bot);
    const cp = (await store.approvals.checkpoint(task.id))!;
    const decided = await store.approvals.listForTask(task.id);
    assert.deepEqual(r.resume, {
      messages: resumeMessages(cp, decided),
      model: "fake:m",
      steps: 2,
      toolCalls: 3,
    });
    assert.equal((r.resume!.messages as unknown[]).length, 3, "the decisions appended");
    // Asked before: still needs approval even though the policy is none now.
    assert.equal(r.needsApproval("tool1", "call-1"), true);
    assert.equal(r.needsApproval("tool2", "call-2"), true);
    assert.equal(r.needsApproval("tool1", "call-9"), false);
    // The denied call is not claimed; the approved one runs once.
    assert.equal(await r.beforeRun("call-2"), null);
    assert.equal(await r.beforeRun("call-1"), null);
    assert.equal((await store.approvals.get(rows[0]!.id))?.executedAt, T0 + 7000);
    assert.equal(
      await r.beforeRun("call-1"),
      "This approved tool call was already started by an earlier run that was cut off (a crash or restart); it is not run a second time.",
    );
  });
});
