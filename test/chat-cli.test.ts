/**
 * `switchyard chat` driven through piped stdin against a real server (in process, on
 * 127.0.0.1): a line gets progress then the reply, `/new` starts a fresh session (the old
 * one ended), end of input exits 0.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { runClient } from "./support/cli-client.ts";

/** Runs `switchyard chat --url <server> …` with `input` on stdin; resolves at exit. */
function runChat(t: TestApp, input: string, args: string[]) {
  return runClient(["chat", "--url", t.url, ...args], input);
}

describe("switchyard chat", () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ tuning: { pollMs: 50 } });
  });
  after(async () => {
    await t?.close();
  });

  test("piped lines get progress and replies; /new starts a fresh session; EOF exits 0", async () => {
    const r = await runChat(t, "hello\n/new\nagain\n", ["--conversation", "pipe"]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n");
    assert.match(lines[0]!, /^Chatting with bot default/);
    const hello = lines.indexOf("echo: hello");
    assert.ok(hello > 0, r.out);
    assert.equal(lines[hello - 1], "… thinking");
    const fresh = lines.findIndex((l) => l.startsWith("Started a new session"));
    assert.ok(fresh > hello);
    assert.ok(lines.indexOf("echo: again") > fresh);
    const sessions = (await t.api("GET", "/api/v1/sessions?client_id=local:pipe%23")).body.items;
    assert.equal(sessions.length, 2);
    assert.equal(sessions.filter((s: any) => s.ended_at).length, 1, "the first one ended");
    // The fresh session does not hold the first exchange.
    const open = sessions.find((s: any) => !s.ended_at);
    const msgs = (await t.api("GET", `/api/v1/sessions/${open.id}/messages`)).body;
    assert.deepEqual(
      msgs.map((m: any) => m.content),
      ["again", "echo: again"],
    );
  });

  test("a second run continues the conversation's open session", async () => {
    const r = await runChat(t, "one more\n", ["--conversation", "pipe"]);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.includes("echo: one more"));
    const sessions = (await t.api("GET", "/api/v1/sessions?client_id=local:pipe%23")).body.items;
    assert.equal(sessions.length, 2, "no new session");
  });
});
