/**
 * `GET /api/v1/sessions/{id}/stream`: server-sent events of a session's messages and task
 * statuses, as committed; over real HTTP, on SQLite and PostgreSQL.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

/** Reads SSE events from `res` until `done` says so (or 10 s pass). */
async function readEvents(
  res: Response,
  done: (events: Array<{ event: string; data: any; id?: string }>) => boolean,
) {
  const events: Array<{ event: string; data: any; id?: string }> = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const until = Date.now() + 10_000;
  while (!done(events) && Date.now() < until) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buf += decoder.decode(value, { stream: true });
    let at = buf.indexOf("\n\n");
    while (at !== -1) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const e: { event: string; data: any; id?: string } = { event: "message", data: null };
      let isEvent = false;
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) e.event = line.slice(7);
        if (line.startsWith("id: ")) e.id = line.slice(4);
        if (line.startsWith("data: ")) {
          e.data = JSON.parse(line.slice(6));
          isEvent = true;
        }
      }
      if (isEvent) events.push(e);
      at = buf.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return events;
}

for (const backend of ALL_BACKENDS) {
  describe(`session stream (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend, tuning: { pollMs: 50 } });
    });
    after(async () => {
      await t?.close();
    });

    test("streams the new message, the task's statuses and the reply", async () => {
      const id = await t.session("stream-1");
      await t.api("POST", `/api/v1/sessions/${id}/messages`, { content: "before" });
      const res = await fetch(`${t.url}/api/v1/sessions/${id}/stream`, {
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      const sent = await t.api("POST", `/api/v1/sessions/${id}/messages`, {
        content: "hi stream",
        run_agent: true,
      });
      const events = await readEvents(
        res,
        (ev) =>
          ev.some((e) => e.event === "task" && e.data.status === "complete") &&
          ev.some((e) => e.event === "message" && e.data.role === "assistant"),
      );
      const messages = events.filter((e) => e.event === "message").map((e) => e.data);
      assert.deepEqual(
        messages.map((m) => [m.role, m.content]),
        [
          ["user", "hi stream"],
          ["assistant", "echo: hi stream"],
        ],
        "starts after the newest message, then what is committed",
      );
      assert.equal(messages[1].task_id, sent.body.task_id);
      const statuses = events.filter((e) => e.event === "task").map((e) => e.data.status);
      assert.equal(statuses.at(-1), "complete");
    });

    test("needs sessions:read and a known session", async () => {
      const id = await t.session("stream-2");
      const anon = await fetch(`${t.url}/api/v1/sessions/${id}/stream`);
      assert.equal(anon.status, 401);
      await anon.text();
      const missing = await t.api("GET", "/api/v1/sessions/nope/stream");
      assert.equal(missing.status, 404);
    });
  });
}
