/**
 * Attachments and the runtime scope (issue 13), with the host runtime: a file of the
 * conversation is copied into the task's scope on request (`copy_attachment_to_workspace`,
 * then `read_file` sees it); a file the model writes in its scope is attached to the reply
 * (`attach_file` with `path`), stored in the session's scope and readable there only; a path
 * that leaves the scope is refused with a tool error. Both backends.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

/** The tool messages of the last recorded model request, as text. */
const toolResults = (t: TestApp) =>
  (t.llm.requests.at(-1)?.messages ?? [])
    .filter((m: any) => m.role === "tool")
    .map((m: any) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)));

for (const backend of ALL_BACKENDS) {
  describe(`attachments and the workspace (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend, env: { SWITCHYARD_RUNTIME: "host" } });
      const r = await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["attach_file", "copy_attachment_to_workspace", "read_file", "write_file"],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    });
    after(() => t?.close());

    test("copy into the scope on request; a written file goes out with the reply", async () => {
      const s = await t.session("att-ws");
      const up = await fetch(`${t.url}/api/v1/sessions/${s}/attachments?name=notes.txt`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "text/plain" },
        body: "line one\nline two",
      });
      const { id } = (await up.json()) as { id: string };
      t.llm.reset();
      t.llm.enqueue(
        {
          toolCalls: [
            {
              name: "copy_attachment_to_workspace",
              args: { attachment_id: id, path: "in/notes.txt" },
            },
          ],
        },
        { toolCalls: [{ name: "read_file", args: { path: "in/notes.txt" } }] },
        {
          toolCalls: [
            { name: "write_file", args: { path: "out/report.csv", content: "a,b\n1,2\n" } },
          ],
        },
        { toolCalls: [{ name: "attach_file", args: { path: "out/report.csv" } }] },
        { toolCalls: [{ name: "attach_file", args: { path: "../../../etc/passwd" } }] },
        { text: "done" },
      );
      const r = await t.api("POST", `/api/v1/sessions/${s}/messages`, {
        content: "work on it",
        run_agent: true,
      });
      const task = await t.waitForTask(r.body.task_id);
      assert.equal(task.status, "complete", JSON.stringify(task));
      const results = toolResults(t);
      assert.match(results[0]!, /in\/notes\.txt/);
      assert.match(results[1]!, /line one\\nline two|line one\nline two/);
      assert.match(results[3]!, /report\.csv/);
      assert.match(results[4]!, /escape|outside|leaves|not allowed/i, results[4]);

      const files = await t.app.store.attachments.ofReply(r.body.task_id);
      assert.deepEqual(
        files.map((f) => [f.name, f.mediaType, f.size, f.scopeKind, f.scopeId]),
        [["report.csv", "text/csv", 8, "session", s]],
      );
      const got = await fetch(`${t.url}/api/v1/attachments/${files[0]!.id}?session_id=${s}`, {
        headers: { authorization: `Bearer ${TEST_API_KEY}` },
      });
      assert.equal(await got.text(), "a,b\n1,2\n");
      const other = await t.session("att-ws-other");
      const refused = await fetch(
        `${t.url}/api/v1/attachments/${files[0]!.id}?session_id=${other}`,
        { headers: { authorization: `Bearer ${TEST_API_KEY}` } },
      );
      assert.equal(refused.status, 404);
    });

    test("an attachment id of another session is refused by both tools", async () => {
      const a = await t.session("att-ws-a");
      const b = await t.session("att-ws-b");
      const up = await fetch(`${t.url}/api/v1/sessions/${a}/attachments?name=secret.txt`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "text/plain" },
        body: "secret of a",
      });
      const { id } = (await up.json()) as { id: string };
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "copy_attachment_to_workspace", args: { attachment_id: id } }] },
        { toolCalls: [{ name: "attach_file", args: { attachment_id: id } }] },
        { text: "done" },
      );
      const r = await t.api("POST", `/api/v1/sessions/${b}/messages`, {
        content: "take a's file",
        run_agent: true,
      });
      await t.waitForTask(r.body.task_id);
      const results = toolResults(t);
      assert.match(results[0]!, /No attachment .* in this conversation/);
      assert.match(results[1]!, /No attachment .* in this conversation/);
      assert.ok(!results.join("").includes("secret of a"));
      assert.deepEqual(await t.app.store.attachments.ofReply(r.body.task_id), []);
    });
  });
}
