/**
 * Approvals' edges that the approval suites leave open (written for mutation testing,
 * `npm run mutate -- approvals`): every combination of a bot's policy and a run's
 * tightening, and how an approval is shown to an adapter with its arguments masked. Pure
 * functions (no store): the parking and deciding are covered over HTTP by the approval
 * suites.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { approvalPolicySchema, toolNeedsApproval, toPolicy } from "../src/approvals/policy.ts";
import { approvalJson, approvalView, redactArgs } from "../src/approvals/view.ts";

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
