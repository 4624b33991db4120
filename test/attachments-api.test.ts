/**
 * Attachments over REST (issue 13), on both backends: raw and multipart uploads, the bytes
 * back only in the owning session's scope (another session's → 404, never the bytes), the
 * size limit (413 by Content-Length and while streaming, nothing kept), messages that
 * reference attachment ids (validated in the session's scope), and the S3-compatible store
 * round trip against s3rver on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { type FakeS3, startFakeS3 } from "./support/fake-s3.ts";

const LIMIT = 64 * 1024;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** POSTs raw bytes (or a FormData) to the upload route. */
async function upload(
  t: TestApp,
  sessionId: string,
  body: Uint8Array | FormData,
  o: { query?: string; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${t.url}/api/v1/sessions/${sessionId}/attachments${o.query ?? ""}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_API_KEY}`, ...o.headers },
    body,
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, body: json, text };
}

async function download(t: TestApp, id: string, sessionId: string | null) {
  const q = sessionId === null ? "" : `?session_id=${sessionId}`;
  const res = await fetch(`${t.url}/api/v1/attachments/${id}${q}`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
  return {
    status: res.status,
    headers: res.headers,
    bytes: new Uint8Array(await res.arrayBuffer()),
  };
}

/**
 * Streams `total` bytes in chunks without a Content-Length (chunked), resolving with the
 * status the server answered (it may answer before the body ends).
 */
function streamUpload(t: TestApp, sessionId: string, total: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${t.url}/api/v1/sessions/${sessionId}/attachments?name=big.bin`);
    const req = request(u, {
      method: "POST",
      headers: {
        authorization: `Bearer ${TEST_API_KEY}`,
        "content-type": "application/octet-stream",
        "transfer-encoding": "chunked",
      },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on("error", (err) => reject(err));
    let sent = 0;
    const chunk = randomBytes(8 * 1024);
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

for (const backend of ALL_BACKENDS) {
  describe(`attachments API (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({
        backend,
        env: { SWITCHYARD_ATTACHMENT_MAX_BYTES: String(LIMIT) },
      });
    });
    after(() => t?.close());

    test("raw upload with ?name and Content-Type, then the bytes back in the same session", async () => {
      const s = await t.session("att-raw");
      const data = randomBytes(5000);
      const up = await upload(t, s, data, {
        query: "?name=photo.png",
        headers: { "content-type": "image/png" },
      });
      assert.equal(up.status, 201, up.text);
      assert.deepEqual(Object.keys(up.body).sort(), ["id", "media_type", "name", "sha256", "size"]);
      assert.equal(up.body.name, "photo.png");
      assert.equal(up.body.media_type, "image/png");
      assert.equal(up.body.size, 5000);
      assert.equal(up.body.sha256, sha(data));
      const got = await download(t, up.body.id, s);
      assert.equal(got.status, 200);
      assert.deepEqual(Buffer.from(got.bytes), data);
      assert.equal(got.headers.get("content-type"), "image/png");
      assert.equal(got.headers.get("x-content-type-options"), "nosniff");
      assert.match(
        got.headers.get("content-disposition") ?? "",
        /^attachment; filename="photo.png"/,
      );
    });

    test("raw upload named by Content-Disposition; no name at all is a clear 400", async () => {
      const s = await t.session("att-disp");
      const up = await upload(t, s, new TextEncoder().encode("hello"), {
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "content-disposition": 'attachment; filename="notes.txt"',
        },
      });
      assert.equal(up.status, 201, up.text);
      assert.equal(up.body.name, "notes.txt");
      assert.equal(up.body.media_type, "text/plain");
      const none = await upload(t, s, new TextEncoder().encode("x"), {
        headers: { "content-type": "text/plain" },
      });
      assert.equal(none.status, 400);
      assert.match(none.body.detail, /file name is required/);
    });

    test("multipart upload (one file part)", async () => {
      const s = await t.session("att-multi");
      const data = randomBytes(3000);
      const form = new FormData();
      form.append("file", new Blob([data], { type: "application/pdf" }), "report.pdf");
      const up = await upload(t, s, form);
      assert.equal(up.status, 201, up.text);
      assert.equal(up.body.name, "report.pdf");
      assert.equal(up.body.media_type, "application/pdf");
      assert.equal(up.body.size, 3000);
      assert.equal(up.body.sha256, sha(data));
      const got = await download(t, up.body.id, s);
      assert.deepEqual(Buffer.from(got.bytes), data);
    });

    test("an id from another session's scope is 404, never the bytes", async () => {
      const a = await t.session("att-scope-a");
      const b = await t.session("att-scope-b");
      const secret = new TextEncoder().encode("only for session a");
      const up = await upload(t, a, secret, { query: "?name=a.txt" });
      assert.equal(up.status, 201);
      const other = await download(t, up.body.id, b);
      assert.equal(other.status, 404);
      assert.ok(!Buffer.from(other.bytes).toString().includes("only for session a"));
      assert.equal((await download(t, up.body.id, "no-such-session")).status, 404);
      assert.equal((await download(t, up.body.id, null)).status, 400);
      assert.equal((await download(t, up.body.id, a)).status, 200);
    });

    test("over the limit: 413 by Content-Length and while streaming, nothing kept", async () => {
      const s = await t.session("att-limit");
      const big = await upload(t, s, randomBytes(LIMIT + 1), { query: "?name=big.bin" });
      assert.equal(big.status, 413);
      assert.match(big.body.detail, /larger than the attachment limit of 65536 bytes/);
      assert.equal(await streamUpload(t, s, LIMIT * 4), 413);
      const form = new FormData();
      form.append("file", new Blob([randomBytes(LIMIT + 10)]), "big.bin");
      assert.equal((await upload(t, s, form)).status, 413);
      // Exactly the limit is fine.
      assert.equal((await upload(t, s, randomBytes(LIMIT), { query: "?name=ok.bin" })).status, 201);
      const spool = join(t.app.config.dataDir, "attachments", ".spool");
      assert.deepEqual(readdirSync(spool), []);
      const rows = await t.app.store.db.kysely
        .selectFrom("attachments")
        .select(["name"])
        .where("scope_id", "=", s)
        .execute();
      assert.deepEqual(
        rows.map((r) => r.name),
        ["ok.bin"],
      );
    });

    test("a message references attachment ids of its own session only", async () => {
      const a = await t.session("att-msg-a");
      const b = await t.session("att-msg-b");
      const up = await upload(t, a, new TextEncoder().encode("x"), { query: "?name=x.txt" });
      const foreign = await t.api("POST", `/api/v1/sessions/${b}/messages`, {
        content: "see file",
        attachments: [up.body.id],
      });
      assert.equal(foreign.status, 400);
      assert.match(foreign.body.detail, /attachments\[0\]: no attachment .* in this session/);
      const own = await t.api("POST", `/api/v1/sessions/${a}/messages`, {
        content: "see file",
        attachments: [up.body.id],
      });
      assert.equal(own.status, 201, JSON.stringify(own.body));
      const list = await t.api("GET", `/api/v1/sessions/${a}/messages`);
      const m = list.body.find((x: any) => x.id === own.body.message_id);
      assert.deepEqual(m.metadata.attachments, [
        {
          id: up.body.id,
          name: "x.txt",
          media_type: "text/plain",
          size: 1,
          sha256: sha(new TextEncoder().encode("x")),
        },
      ]);
    });

    test("no key → 401 before the body is read; unknown session → 404", async () => {
      const res = await fetch(`${t.url}/api/v1/sessions/x/attachments?name=a`, {
        method: "POST",
        body: "abc",
      });
      assert.equal(res.status, 401);
      const up = await upload(t, "no-such-session", new TextEncoder().encode("x"), {
        query: "?name=a.txt",
      });
      assert.equal(up.status, 404);
    });
  });
}

describe("attachments in an S3-compatible bucket (s3rver)", () => {
  let s3: FakeS3;
  let t: TestApp;
  before(async () => {
    s3 = await startFakeS3();
    t = await startTestApp({ env: s3.env("files/v1") });
  });
  after(async () => {
    await t?.close();
    await s3?.close();
  });

  test("upload → object under the prefix → the same bytes back; scope still enforced", async () => {
    const s = await t.session("att-s3");
    const data = randomBytes(20_000);
    const up = await upload(t, s, data, {
      query: "?name=image.jpg",
      headers: { "content-type": "image/jpeg" },
    });
    assert.equal(up.status, 201, up.text);
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    });
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "files/v1/" }),
    );
    client.destroy();
    const keys = (listed.Contents ?? []).map((o) => o.Key);
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, new RegExp(`^files/v1/session/${s}/${up.body.id}$`));
    assert.equal(listed.Contents![0]!.Size, 20_000);
    const got = await download(t, up.body.id, s);
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(got.bytes), data);
    assert.equal(got.headers.get("content-type"), "image/jpeg");
    const other = await t.session("att-s3-other");
    assert.equal((await download(t, up.body.id, other)).status, 404);
  });
});
