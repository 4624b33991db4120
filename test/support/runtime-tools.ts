/**
 * Drives the workspace tools through a real server: the fake LLM asks for the calls one
 * step at a time, then answers "done"; the tool results are read back from
 * `GET /api/v1/tasks/{id}/tool_calls`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { TestApp } from "./app.ts";

/** One tool call's outcome: status (`ok`/`error`) and the parsed result. */
export interface ToolOutcome {
  status: string;
  result: any;
}

/** Starts a turn in `sid` that makes `calls` in order; resolves with the task id once it runs. */
export async function startToolTurn(
  t: TestApp,
  sid: string,
  calls: Array<{ name: string; args: Record<string, unknown> }>,
): Promise<string> {
  t.llm.reset();
  t.llm.enqueue(...calls.map((c) => ({ toolCalls: [c] })), { text: "done" });
  const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
    content: "use the workspace",
    run_agent: true,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.task_id as string;
}

/** The tool calls of a task, in order. */
export async function toolOutcomes(t: TestApp, taskId: string): Promise<ToolOutcome[]> {
  const calls = await t.api("GET", `/api/v1/tasks/${taskId}/tool_calls`);
  assert.equal(calls.status, 200);
  return calls.body.map((c: any) => {
    let result: unknown = c.result;
    try {
      result = JSON.parse(c.result);
    } catch {}
    return { status: c.status, result };
  });
}

/** Runs `calls` in one turn in `sid` and returns their outcomes (the turn must complete). */
export async function runTools(
  t: TestApp,
  sid: string,
  calls: Array<{ name: string; args: Record<string, unknown> }>,
  timeoutMs = 20_000,
): Promise<ToolOutcome[]> {
  const taskId = await startToolTurn(t, sid, calls);
  const task = await t.waitForTask(taskId, undefined, timeoutMs);
  assert.equal(task.status, "complete", JSON.stringify(task));
  const out = await toolOutcomes(t, taskId);
  assert.equal(out.length, calls.length);
  return out;
}

/** Runs one call and returns its outcome. */
export async function runTool(
  t: TestApp,
  sid: string,
  name: string,
  args: Record<string, unknown>,
): Promise<ToolOutcome> {
  return (await runTools(t, sid, [{ name, args }]))[0]!;
}

/** True when process `pid` is gone (or a zombie waiting to be reaped: it runs no more). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}
