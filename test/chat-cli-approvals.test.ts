/**
 * `switchyard chat` and approvals, through piped stdin against a real server (in process,
 * on 127.0.0.1): a tool call waiting for approval is shown, the next line answers it
 * (`y` approves and the tool runs; `n` denies; anything else asks again), the decision is
 * POSTed to the server and the reply follows.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { runClient } from "./support/cli-client.ts";

/** Runs `switchyard chat --url <server> …` with `input` on stdin; resolves at exit. */
function runChat(t: TestApp, input: string, args: string[]) {
  return runClient(["chat", "--url", t.url, ...args], input);
}

describe("switchyard chat with approvals", () => {
  let t: TestApp;
  const runs: unknown[] = [];
  before(async () => {
    t = await startTestApp({ tuning: { pollMs: 50 } });
    t.app.tools.register({
      name: "order_pizza",
      description: "Orders a pizza",
      parameters: { type: "object", properties: { size: { type: "string" } } },
      execute: async (a: unknown) => {
        runs.push(a);
        return "ordered";
      },
    });
    await t.api("PUT", "/api/v1/admin/bots/default", {
      tools: ["order_pizza"],
      approval: { default: "always" },
    });
  });
  after(() => t?.close());

  test("y approves: the request is shown, the tool runs, the reply is printed", async () => {
    runs.length = 0;
    t.llm.reset();
    t.llm.enqueue(
      { toolCalls: [{ name: "order_pizza", args: { size: "large" } }] },
      { text: "Your large pizza is on its way." },
    );
    const r = await runChat(t, "order a pizza\ny\n", ["--conversation", "pizza-yes"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Approval needed: order_pizza \{"size":"large"\} \(expires /);
    assert.match(r.out, /Approve\? \[y\/n\] Approved\.\n/);
    assert.ok(r.out.includes("Your large pizza is on its way."), r.out);
    assert.deepEqual(runs, [{ size: "large" }]);
    const [a] = (await t.api("GET", "/api/v1/approvals?status=approved")).body;
    assert.equal(a.decided_by, "SWITCHYARD_API_KEY");
  });

  test("an unclear answer asks again; n denies and the model is told", async () => {
    runs.length = 0;
    t.llm.reset();
    t.llm.enqueue(
      { toolCalls: [{ name: "order_pizza", args: { size: "huge" } }] },
      { text: "OK, no pizza." },
    );
    const r = await runChat(t, "order a pizza\nmaybe\nn\n", ["--conversation", "pizza-no"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Approve\? \[y\/n\] Approve\? \[y\/n\] Denied\.\n/);
    assert.ok(r.out.includes("OK, no pizza."), r.out);
    assert.equal(runs.length, 0);
    const toolMsg = t.llm.requests[1]!.messages.find((m: any) => m.role === "tool");
    assert.match(JSON.stringify(toolMsg.content), /denied by SWITCHYARD_API_KEY/);
  });

  test("input ending before an answer leaves the request pending", async () => {
    t.llm.reset();
    t.llm.enqueue({ toolCalls: [{ name: "order_pizza", args: { size: "s" } }] });
    const r = await runChat(t, "order a pizza\n", ["--conversation", "pizza-eof"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /No answer: the request stays pending/);
    const pending = (await t.api("GET", "/api/v1/approvals?status=pending")).body;
    assert.equal(pending.length, 1);
    assert.deepEqual(pending[0].args, { size: "s" });
  });
});
