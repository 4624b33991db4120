/**
 * What the model sees of attachments (issue 13), through the fake LLM's recorded requests:
 * an uploaded image referenced by a message reaches it as an image part with the same
 * bytes; a text file inline, cut at the cap with a line saying so; another file by name,
 * type and size only. Both backends.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { MAX_INLINE_CHARS } from "../src/attachments/model-content.ts";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { imagesOf, userTextOf } from "./support/fake-llm-wire.ts";

/** A tiny valid PNG (1×1, transparent), as bytes. */
export const PNG_1X1 = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

async function upload(t: TestApp, s: string, name: string, type: string, body: Uint8Array) {
  const res = await fetch(
    `${t.url}/api/v1/sessions/${s}/attachments?name=${encodeURIComponent(name)}`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_API_KEY}`, "content-type": type },
      body,
    },
  );
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

for (const backend of ALL_BACKENDS) {
  describe(`attachments reach the model (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ backend });
    });
    after(() => t?.close());

    test("image part, inline text (capped), other files described", async () => {
      const s = await t.session("att-model");
      const image = await upload(t, s, "dot.png", "image/png", PNG_1X1);
      const longText = `${"a".repeat(MAX_INLINE_CHARS)}TAIL-NOT-SHOWN`;
      const text = await upload(t, s, "long.txt", "text/plain", Buffer.from(longText));
      const short = await upload(t, s, "short.md", "text/markdown", Buffer.from("# Hello notes"));
      const other = await upload(t, s, "blob.bin", "application/octet-stream", randomBytes(100));
      t.llm.reset();
      const r = await t.api("POST", `/api/v1/sessions/${s}/messages`, {
        content: "what is in these?",
        run_agent: true,
        attachments: [image, text, short, other],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const task = await t.waitForTask(r.body.task_id);
      assert.equal(task.status, "complete", JSON.stringify(task));
      const req = t.llm.requests.at(-1)!;
      const images = imagesOf(req);
      assert.equal(images.length, 1);
      assert.equal(images[0]!.mediaType, "image/png");
      assert.deepEqual(images[0]!.bytes, PNG_1X1);
      const seen = userTextOf(req);
      assert.match(seen, /what is in these\?/);
      assert.match(seen, /\[Attached image dot\.png \(image\/png, \d+ bytes; id [0-9a-f-]+\)\]/);
      assert.match(seen, /# Hello notes/);
      assert.ok(!seen.includes("TAIL-NOT-SHOWN"), "the text past the cap is not sent");
      assert.match(seen, /\[Cut: only the first 20000 characters of 20014 bytes are shown\]/);
      assert.match(
        seen,
        /\[Attached file blob\.bin \(application\/octet-stream, 100 bytes; id [0-9a-f-]+\): its contents are not shown to the model\]/,
      );

      // The next turn sees the earlier message's image again, from history.
      t.llm.reset();
      const r2 = await t.api("POST", `/api/v1/sessions/${s}/messages`, {
        content: "and now?",
        run_agent: true,
      });
      await t.waitForTask(r2.body.task_id);
      assert.equal(imagesOf(t.llm.requests.at(-1)!).length, 1);
    });
  });
}
