/**
 * Documents over real HTTP, on SQLite and PostgreSQL: ingest, get, delete, lexical search
 * (relevance on a small corpus with known answers, filters, query safety), hybrid search
 * with a fake embeddings server on 127.0.0.1, the `search_documents` tool called by the
 * agent through the fake LLM, and `ctx.ingestDocument` / `ctx.searchDocuments`.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chunkText } from "../src/documents/chunking.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";
import { type FakeEmbeddings, startFakeEmbeddings } from "./support/fake-embeddings.ts";

/** A small corpus; each query below has one right answer. */
const CORPUS = [
  {
    key: "password",
    title: "Resetting your password",
    content:
      "If you forgot your password, open Settings, then Security, and choose Reset password. " +
      "A reset link is sent to the address on file and stays valid for one hour.",
  },
  {
    key: "webhooks",
    title: "Verifying webhook signatures",
    content:
      "Every outbound webhook carries a signature header: an HMAC-SHA256 of the raw body, " +
      "keyed with the subscription secret. Verify it before trusting the payload.",
  },
  {
    key: "ratelimits",
    title: "Rate limits",
    content:
      "The API accepts 100 requests per minute per key. Above that it answers 429 Too Many " +
      "Requests with a Retry-After header saying when to try again.",
  },
  {
    key: "backups",
    title: "Backing up the database",
    content:
      "SQLite keeps everything in one file; copy it with the online backup command. For " +
      "PostgreSQL, schedule pg_dump nightly and keep a week of dumps.",
  },
  {
    key: "billing",
    title: "Billing",
    content:
      "Invoices are issued on the first day of each month and can be paid by card or bank " +
      "transfer. Contact support to change the billing address.",
  },
  {
    key: "support",
    title: "Contacting support",
    content:
      "Write to support for anything else; mention your account id. We answer within a day, " +
      "including questions about billing.",
  },
];

const QUERIES: Array<[string, string]> = [
  ["how do I reset my password", "password"],
  ["verify webhook signature hmac", "webhooks"],
  ["429 too many requests", "ratelimits"],
  ["nightly backup of the database", "backups"],
  ["signatures verifying", "webhooks"], // stemming: signature(s), verify/verifying
  ["billing", "billing"], // a title word outweighs the same word in another text
];

async function ingestCorpus(t: TestApp, extra: Record<string, unknown> = {}) {
  const ids: Record<string, string> = {};
  for (const d of CORPUS) {
    const r = await t.api("POST", "/api/v1/documents", {
      title: d.title,
      content: d.content,
      ...extra,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids[d.key] = r.body.id;
  }
  return ids;
}

const search = (t: TestApp, params: Record<string, string | number>) =>
  t.api("GET", `/api/v1/documents/search?${new URLSearchParams(params as any)}`);

test("chunking: size, overlap, boundaries", () => {
  assert.deepEqual(chunkText("   \n "), []);
  assert.deepEqual(chunkText("Short text."), [{ index: 0, start: 0, content: "Short text." }]);
  const sentences = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} says something.`);
  const text = sentences.join(" ");
  const chunks = chunkText(text);
  assert.ok(chunks.length > 1);
  for (const c of chunks) {
    assert.ok(c.content.length <= 1000, `chunk of ${c.content.length}`);
    assert.match(c.content, /^Sentence number \d+ says something\.$|^Sentence .*\.$/s);
    assert.equal(text.slice(c.start, c.start + c.content.length), c.content);
  }
  for (let i = 1; i < chunks.length; i++) {
    const prevEnd = chunks[i - 1]!.start + chunks[i - 1]!.content.length;
    const overlap = prevEnd - chunks[i]!.start;
    assert.ok(overlap > 0 && overlap <= 200, `overlap ${overlap}`);
  }
  // Every sentence is in some chunk, whole.
  for (const s of sentences)
    assert.ok(
      chunks.some((c) => c.content.includes(s)),
      s,
    );
  // Paragraphs win over sentences; text without boundaries is still cut.
  const paras = `${"a".repeat(700)}.\n\n${"b ".repeat(400)}`;
  assert.equal(chunkText(paras)[0]!.content, `${"a".repeat(700)}.`);
  const solid = "x".repeat(2500);
  assert.deepEqual(
    chunkText(solid).map((c) => c.content.length),
    [1000, 1000, 900],
  );
});

test("chunking: any text is covered, in order, within size and overlap", () => {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pieces = [
    "word ",
    "Sentence. ",
    "\n",
    "\n\n",
    "日本語。",
    "😀",
    "x",
    "Q? ",
    'end!" ',
    "\r\n",
  ];
  for (let trial = 0; trial < 300; trial++) {
    let text = "";
    for (let i = Math.floor(rnd() * 800); i > 0; i--) {
      text += pieces[Math.floor(rnd() * pieces.length)]!.repeat(1 + Math.floor(rnd() * 5));
    }
    const norm = text.replace(/\r\n?/g, "\n");
    const chunks = chunkText(text);
    const covered = new Uint8Array(norm.length);
    chunks.forEach((c, i) => {
      assert.ok(c.content.length <= 1000);
      assert.equal(norm.slice(c.start, c.start + c.content.length), c.content);
      assert.ok(!/^[\udc00-\udfff]/.test(c.content) && !/[\ud800-\udbff]$/.test(c.content));
      covered.fill(1, c.start, c.start + c.content.length);
      if (i > 0) {
        const prev = chunks[i - 1]!;
        assert.ok(c.start > prev.start);
        assert.ok(prev.start + prev.content.length - c.start <= 200);
      }
    });
    for (let i = 0; i < norm.length; i++) {
      assert.ok(covered[i] || /\s/.test(norm[i]!), `character ${i} of trial ${trial} not covered`);
    }
  }
});

for (const backend of ALL_BACKENDS) {
  describe(`documents, lexical (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    let ids: Record<string, string>;
    before(async () => {
      t = await startTestApp({ backend });
      ids = await ingestCorpus(t);
    });
    after(() => t.close());

    test("POST → 201 with the document; GET returns it; no embeddings anywhere", async () => {
      const r = await t.api("POST", "/api/v1/documents", {
        title: "Greeting",
        content: "Hello there, general.",
        integration_id: "notes",
        session_id: "s-1",
        metadata: { lang: "en", tags: ["x"] },
      });
      assert.equal(r.status, 201);
      assert.deepEqual(Object.keys(r.body).sort(), [
        "content",
        "created_at",
        "id",
        "integration_id",
        "metadata",
        "session_id",
        "title",
      ]);
      assert.equal(r.body.title, "Greeting");
      assert.equal(r.body.content, "Hello there, general.");
      assert.equal(r.body.integration_id, "notes");
      assert.equal(r.body.session_id, "s-1");
      assert.deepEqual(r.body.metadata, { lang: "en", tags: ["x"] });
      assert.ok(!Number.isNaN(Date.parse(r.body.created_at)));
      const got = await t.api("GET", `/api/v1/documents/${r.body.id}`);
      assert.deepEqual(got, { status: 200, body: r.body });

      const bare = await t.api("POST", "/api/v1/documents", { content: "No title here." });
      assert.equal(bare.status, 201);
      assert.equal(bare.body.title, null);
      assert.equal(bare.body.integration_id, null);
      assert.equal(bare.body.session_id, null);
      assert.deepEqual(bare.body.metadata, {});
    });

    test("invalid bodies → 400; unknown id → 404 {detail: Document not found}", async () => {
      for (const body of [{}, { content: "  " }, { content: 5 }, { content: "x", extra: 1 }]) {
        assert.equal((await t.api("POST", "/api/v1/documents", body)).status, 400);
      }
      assert.deepEqual(await t.api("GET", "/api/v1/documents/nope"), {
        status: 404,
        body: { detail: "Document not found" },
      });
      assert.deepEqual(await t.api("DELETE", "/api/v1/documents/nope"), {
        status: 404,
        body: { detail: "Document not found" },
      });
    });

    test("search without q (or with a bad limit) → 400; the static /search route wins over /:id", async () => {
      for (const qs of ["", "?q=", "?q=%20", "?q=x&limit=0", "?q=x&limit=101", "?q=x&limit=a"]) {
        const r = await t.api("GET", `/api/v1/documents/search${qs}`);
        assert.equal(r.status, 400, `${qs}: ${JSON.stringify(r.body)}`);
        assert.match(r.body.detail, /Invalid query/);
      }
    });

    test("relevance: each query's known answer comes first; scores descend", async () => {
      for (const [q, key] of QUERIES) {
        const r = await search(t, { q });
        assert.equal(r.status, 200);
        assert.equal(r.body.mode, "lexical");
        assert.ok(r.body.results.length > 0, q);
        assert.equal(
          r.body.results[0].id,
          ids[key],
          `${q}: got ${r.body.results.map((x: any) => x.title).join(" | ")}`,
        );
        const scores = r.body.results.map((x: any) => x.score);
        assert.deepEqual(
          scores,
          [...scores].sort((a: number, b: number) => b - a),
        );
      }
      const r = await search(t, { q: "billing" });
      const titles = r.body.results.map((x: any) => x.title);
      assert.deepEqual(titles.slice(0, 2), ["Billing", "Contacting support"]);
    });

    test("a result is the document (no content) with its best chunk and a score", async () => {
      const r = await search(t, { q: "pg_dump nightly" });
      const hit = r.body.results[0];
      assert.deepEqual(Object.keys(hit).sort(), [
        "chunk",
        "created_at",
        "id",
        "integration_id",
        "metadata",
        "score",
        "session_id",
        "title",
      ]);
      assert.equal(hit.title, "Backing up the database");
      assert.equal(hit.chunk.index, 0);
      assert.match(hit.chunk.content, /pg_dump nightly/);
      assert.equal(typeof hit.score, "number");
      assert.ok(hit.score > 0);
      assert.ok(!JSON.stringify(r.body).includes("embedding"));
    });

    test("a long document: the best chunk is the one with the answer", async () => {
      const filler = (i: number) =>
        `Paragraph ${i} talks about gardening, soil and seasons at some length. `.repeat(6);
      const paragraphs = Array.from({ length: 8 }, (_, i) => filler(i));
      paragraphs.push("The launch code for the orbital telescope is stored in the vault.");
      const content = paragraphs.join("\n\n");
      const r = await t.api("POST", "/api/v1/documents", { title: "Garden notes", content });
      assert.equal(r.status, 201);
      const s = await search(t, { q: "orbital telescope launch code" });
      const hit = s.body.results[0];
      assert.equal(hit.id, r.body.id);
      assert.ok(hit.chunk.index > 0, `chunk ${hit.chunk.index}`);
      assert.ok(hit.chunk.content.length <= 1000);
      assert.match(hit.chunk.content, /launch code for the orbital telescope/);
      // One document with many matching chunks appears once.
      const g = await search(t, { q: "gardening soil seasons", limit: 5 });
      assert.equal(g.body.results.filter((x: any) => x.id === r.body.id).length, 1);
    });

    test("filters are exact: integration_id, session_id, both", async () => {
      const mk = async (content: string, integration_id?: string, session_id?: string) =>
        (await t.api("POST", "/api/v1/documents", { content, integration_id, session_id })).body
          .id as string;
      const a = await mk("zebra crossing rules for wiki", "wiki", "s-a");
      const b = await mk("zebra crossing rules for tickets", "tickets", "s-a");
      const c = await mk("zebra crossing rules, no labels");
      const d = await mk("zebra crossing rules for wiki, other session", "wiki", "s-b");
      await mk("zebra crossing rules for a prefix", "wiki-archive", "s-a");
      const idsOf = async (params: Record<string, string>) =>
        (await search(t, { q: "zebra crossing", ...params })).body.results
          .map((x: any) => x.id)
          .sort();
      assert.equal((await idsOf({})).length, 5);
      assert.deepEqual(await idsOf({ integration_id: "wiki" }), [a, d].sort());
      assert.deepEqual(await idsOf({ session_id: "s-a" }).then((x) => x.length), 3);
      assert.deepEqual(await idsOf({ integration_id: "wiki", session_id: "s-a" }), [a]);
      assert.deepEqual(await idsOf({ integration_id: "tickets" }), [b]);
      assert.deepEqual(await idsOf({ integration_id: "nobody" }), []);
      assert.ok((await idsOf({})).includes(c));
    });

    test("limit caps the documents returned", async () => {
      const r = await search(t, { q: "password support billing webhook rate database", limit: 2 });
      assert.equal(r.body.results.length, 2);
      const all = await search(t, { q: "password support billing webhook rate database" });
      assert.ok(all.body.results.length >= 5);
    });

    test("query text is never syntax: FTS and tsquery operators, quotes, SQL", async () => {
      for (const q of [
        '"unbalanced',
        "NEAR(password reset)",
        "password AND OR NOT",
        "*",
        "title:password",
        "-password",
        "pass*",
        "a & b | !c <-> d",
        "'; DROP TABLE documents; --",
        "(((",
        "^password",
        "!!!",
        "ü€😀",
      ]) {
        const r = await search(t, { q });
        assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
        assert.ok(Array.isArray(r.body.results));
      }
      const r = await search(t, { q: 'password" OR "webhook' });
      assert.ok(r.body.results.some((x: any) => x.id === ids.password));
      assert.equal((await t.api("GET", `/api/v1/documents/${ids.password}`)).status, 200);
    });

    test("DELETE → 204; the document is gone from GET and search", async () => {
      const r = await t.api("POST", "/api/v1/documents", {
        title: "Ephemeral",
        content: "A quasar note that will be deleted.",
      });
      assert.equal((await search(t, { q: "quasar" })).body.results.length, 1);
      const del = await t.api("DELETE", `/api/v1/documents/${r.body.id}`);
      assert.equal(del.status, 204);
      assert.equal(del.body, undefined);
      assert.equal((await t.api("GET", `/api/v1/documents/${r.body.id}`)).status, 404);
      assert.deepEqual((await search(t, { q: "quasar" })).body.results, []);
      assert.equal((await t.api("DELETE", `/api/v1/documents/${r.body.id}`)).status, 404);
    });

    test("scopes: documents:read searches and reads; writing needs documents:write", async () => {
      const { key } = await t.app.store.apiKeys.create("docs-reader", ["documents:read"]);
      const s = await t.api("GET", "/api/v1/documents/search?q=password", undefined, { key });
      assert.equal(s.status, 200);
      assert.equal(
        (await t.api("GET", `/api/v1/documents/${ids.password}`, undefined, { key })).status,
        200,
      );
      assert.deepEqual(await t.api("POST", "/api/v1/documents", { content: "x" }, { key }), {
        status: 403,
        body: { detail: "Missing required scope: documents:write" },
      });
      assert.equal(
        (await t.api("DELETE", `/api/v1/documents/${ids.password}`, undefined, { key })).status,
        403,
      );
      const { key: sessions } = await t.app.store.apiKeys.create("s", ["sessions:write"]);
      assert.equal(
        (await t.api("GET", "/api/v1/documents/search?q=x", undefined, { key: sessions })).status,
        403,
      );
      assert.equal(
        (await t.api("GET", "/api/v1/documents/search?q=x", undefined, { key: null })).status,
        401,
      );
    });

    test("the agent calls search_documents through the fake LLM and sees the passage", async () => {
      await t.api("PUT", "/api/v1/admin/bots/default", { tools: ["search_documents"] });
      const sid = await t.session(`docs-tool-${backend}`);
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "search_documents", args: { query: "reset password", limit: 3 } }] },
        { text: "Open Settings, then Security." },
      );
      const m = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "How do I reset my password?",
        run_agent: true,
      });
      const task = await t.waitForTask(m.body.task_id);
      assert.equal(task.status, "complete", JSON.stringify(task));
      assert.equal(task.result, "Open Settings, then Security.");
      const [first, second] = t.llm.requests;
      const tool = first!.tools.find((x: any) => x.function.name === "search_documents");
      assert.ok(tool, "the model was offered search_documents");
      assert.deepEqual(tool.function.parameters.required, ["query"]);
      const toolMsg = second!.messages.find((x: any) => x.role === "tool");
      const out = JSON.parse(toolMsg.content);
      assert.equal(out.mode, "lexical");
      assert.ok(out.results.length >= 1 && out.results.length <= 3);
      assert.equal(out.results[0].document_id, ids.password);
      assert.equal(out.results[0].title, "Resetting your password");
      assert.match(out.results[0].passage, /choose Reset password/);
      await t.api("PUT", "/api/v1/admin/bots/default", { tools: [] });
    });
  });
}

describe("ctx.ingestDocument / ctx.searchDocuments", () => {
  const dir = tempDir("switchyard-docs-int-");
  let t: TestApp;
  before(async () => {
    const folder = join(dir.path, "ext", "kb");
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, "router.ts"),
      `export default async function (app, ctx) {
  app.post("/ingest", { config: { auth: "self" } }, async (req) => ctx.ingestDocument(req.body));
  app.get("/search", { config: { auth: "self" } }, async (req) =>
    ctx.searchDocuments({ query: req.query.q, integrationId: req.query.only }));
}
`,
    );
    t = await startTestApp({ env: { INTEGRATION_DIRS: join(dir.path, "ext") } });
  });
  after(async () => {
    await t.close();
    dir.remove();
  });

  test("an integration ingests (integration_id defaults to its name) and searches", async () => {
    const r = await t.api(
      "POST",
      "/integrations/kb/ingest",
      {
        title: "Kb article",
        content: "The heliotrope widget needs calibration.",
        metadata: { n: 1 },
      },
      { key: null },
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.integrationId, "kb");
    assert.equal(r.body.title, "Kb article");
    const other = await t.api("POST", "/api/v1/documents", {
      content: "Another heliotrope widget, not from kb.",
    });
    assert.equal(other.status, 201);
    const all = await t.api("GET", "/integrations/kb/search?q=heliotrope", undefined, {
      key: null,
    });
    assert.equal(all.body.mode, "lexical");
    assert.equal(all.body.results.length, 2);
    const own = await t.api("GET", "/integrations/kb/search?q=heliotrope&only=kb", undefined, {
      key: null,
    });
    assert.deepEqual(
      own.body.results.map((x: any) => [x.documentId, x.integrationId, x.chunk.index]),
      [[r.body.id, "kb", 0]],
    );
    const rest = await t.api("GET", `/api/v1/documents/${r.body.id}`);
    assert.equal(rest.body.integration_id, "kb");
    assert.deepEqual(rest.body.metadata, { n: 1 });
  });
});

const CARS = {
  title: "Keeping a sedan running",
  content:
    "Change the engine oil every ten thousand kilometres, rotate the tyres, and check the " +
    "brake pads each spring. A sedan that is serviced on time lasts for decades.",
};
const SEMANTIC_CORPUS = [
  CARS,
  {
    title: "Sourdough",
    content: "Feed the starter, knead the dough, let it rise overnight and bake at 250 degrees.",
  },
  {
    title: "Tides",
    content: "Tides follow the moon; coastal water rises and falls twice a day.",
  },
  {
    title: "Oil painting",
    content: "Oil paint dries slowly; thin the first layers with solvent, the last with oil.",
  },
];

for (const backend of ALL_BACKENDS) {
  describe(`documents, hybrid with a fake embedding model (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    let lexical: TestApp;
    let emb: FakeEmbeddings;
    const ids: string[] = [];
    before(async () => {
      emb = await startFakeEmbeddings();
      t = await startTestApp({
        backend,
        env: { SWITCHYARD_EMBEDDING_MODEL: "ollama:fake-embed", OLLAMA_BASE_URL: emb.url },
      });
      lexical = await startTestApp({ backend });
      for (const d of SEMANTIC_CORPUS) {
        const r = await t.api("POST", "/api/v1/documents", d);
        assert.equal(r.status, 201, JSON.stringify(r.body));
        ids.push(r.body.id);
        await lexical.api("POST", "/api/v1/documents", d);
      }
    });
    after(async () => {
      await t.close();
      await lexical.close();
      await emb.close();
    });

    test("chunks are embedded at ingest with the configured model, in batches", async () => {
      const before = emb.requests.length;
      const content = Array.from(
        { length: 300 },
        (_, i) => `Paragraph ${i}: a fairly ordinary sentence about nothing in particular.`,
      ).join("\n\n");
      const expected = chunkText(content).length;
      assert.ok(expected > 20, `${expected} chunks`);
      const r = await t.api("POST", "/api/v1/documents", { title: "Bulk", content });
      assert.equal(r.status, 201);
      const reqs = emb.requests.slice(before);
      assert.ok(reqs.every((x) => x.model === "fake-embed"));
      assert.ok(reqs.every((x) => x.input.length <= 128));
      assert.equal(
        reqs.reduce((s, x) => s + x.input.length, 0),
        expected,
      );
      assert.ok(reqs[0]!.input[0]!.startsWith("Bulk\n\n"), "the title leads each embedded text");
      assert.ok(!JSON.stringify(r.body).includes("embedding"));
      assert.equal((await t.api("DELETE", `/api/v1/documents/${r.body.id}`)).status, 204);
    });

    test("a query in other words finds the document: hybrid finds it, lexical cannot", async () => {
      const q = "automobile maintenance";
      const lex = await search(lexical, { q });
      assert.equal(lex.body.mode, "lexical");
      assert.deepEqual(lex.body.results, []);
      const hy = await search(t, { q });
      assert.equal(hy.status, 200);
      assert.equal(hy.body.mode, "hybrid");
      assert.equal(hy.body.results[0].id, ids[0]);
      assert.equal(hy.body.results[0].title, CARS.title);
      assert.match(hy.body.results[0].chunk.content, /sedan/);
      assert.ok(!JSON.stringify(hy.body).includes("embedding"));
    });

    test("fusion: agreeing lists put their document first, with the RRF score", async () => {
      // "oil" matches Cars and Oil painting lexically; "painting solvent" leans to the latter.
      const r = await search(t, { q: "oil painting solvent layers" });
      assert.equal(r.body.mode, "hybrid");
      assert.equal(r.body.results[0].title, "Oil painting");
      // Ranked first in both lists: 2 / (60 + 1).
      assert.ok(Math.abs(r.body.results[0].score - 2 / 61) < 1e-9, String(r.body.results[0].score));
      const scores = r.body.results.map((x: any) => x.score);
      assert.deepEqual(
        scores,
        [...scores].sort((a: number, b: number) => b - a),
      );
    });

    test("filters hold for the vector list too", async () => {
      const r = await t.api("POST", "/api/v1/documents", {
        title: "Fleet car servicing",
        content: "Our vehicles get a service every six months at the depot.",
        integration_id: "fleet",
      });
      const hy = await search(t, { q: "automobile repairs", integration_id: "fleet" });
      assert.deepEqual(
        hy.body.results.map((x: any) => x.id),
        [r.body.id],
      );
      const none = await search(t, { q: "automobile repairs", session_id: "no-such" });
      assert.deepEqual(none.body.results, []);
    });

    test("embedding failure: ingest → 502 and nothing stored; search falls back to lexical", async () => {
      emb.failNext(1, 500);
      const r = await t.api("POST", "/api/v1/documents", {
        title: "Lost",
        content: "A xylophone manual that the embedding model refuses.",
      });
      assert.equal(r.status, 502, JSON.stringify(r.body));
      assert.match(r.body.detail, /Embedding model failed/);
      emb.failNext(1, 500);
      const s = await search(t, { q: "xylophone" });
      assert.equal(s.status, 200);
      assert.equal(s.body.mode, "lexical");
      assert.match(s.body.warning, /Hybrid search unavailable/);
      assert.deepEqual(s.body.results, []);
      const ok = await search(t, { q: "sedan" });
      assert.equal(ok.body.mode, "hybrid");
      assert.equal(ok.body.warning, undefined);
    });

    test("two servers on one database see each other's writes in vector search", async () => {
      const other = await startTestApp({
        backend,
        keepDb: t.db,
        llm: t.llm,
        env: { SWITCHYARD_EMBEDDING_MODEL: "ollama:fake-embed", OLLAMA_BASE_URL: emb.url },
      });
      try {
        const q = "glad physician";
        const vecOnly = (r: any) => r.body.results.map((x: any) => x.title);
        assert.ok(!vecOnly(await search(other, { q })).includes("Cheerful doctors"));
        const a = await t.api("POST", "/api/v1/documents", {
          title: "Cheerful doctors",
          content: "Delighted clinicians and a joyful medic.",
        });
        // `other` loaded its copy before this write; its next search catches up.
        assert.equal(vecOnly(await search(other, { q }))[0], "Cheerful doctors");
        assert.equal(vecOnly(await search(t, { q }))[0], "Cheerful doctors");
        // A delete on one server is seen by the other (count and id sum no longer match).
        assert.equal((await other.api("DELETE", `/api/v1/documents/${a.body.id}`)).status, 204);
        assert.ok(!vecOnly(await search(t, { q })).includes("Cheerful doctors"));
        assert.ok(!vecOnly(await search(other, { q })).includes("Cheerful doctors"));
        // Writes on both sides between searches.
        const b = await other.api("POST", "/api/v1/documents", {
          title: "Happy physicians",
          content: "Glad doctors everywhere.",
        });
        const c = await t.api("POST", "/api/v1/documents", {
          title: "Joyful medics",
          content: "Cheerful clinicians here.",
        });
        for (const app of [t, other]) {
          const titles = vecOnly(await search(app, { q, limit: 3 }));
          assert.deepEqual(titles.slice(0, 2).sort(), ["Happy physicians", "Joyful medics"]);
        }
        await t.api("DELETE", `/api/v1/documents/${b.body.id}`);
        await other.api("DELETE", `/api/v1/documents/${c.body.id}`);
      } finally {
        await other.close();
      }
    });

    test("search_documents reports hybrid mode to the agent", async () => {
      await t.api("PUT", "/api/v1/admin/bots/default", { tools: ["search_documents"] });
      const sid = await t.session(`docs-hybrid-tool-${backend}`);
      t.llm.reset();
      t.llm.enqueue(
        { toolCalls: [{ name: "search_documents", args: { query: "automobile brake pads" } }] },
        { text: "Service it on time." },
      );
      const m = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "How do I keep my car going?",
        run_agent: true,
      });
      const task = await t.waitForTask(m.body.task_id);
      assert.equal(task.status, "complete", JSON.stringify(task));
      const toolMsg = t.llm.requests[1]!.messages.find((x: any) => x.role === "tool");
      const out = JSON.parse(toolMsg.content);
      assert.equal(out.mode, "hybrid");
      assert.equal(out.results[0].document_id, ids[0]);
    });
  });
}

test("an anthropic embedding model is refused at start", async () => {
  await assert.rejects(
    startTestApp({ env: { SWITCHYARD_EMBEDDING_MODEL: "anthropic:claude" } }).then((t) =>
      t.close(),
    ),
    /no embeddings/,
  );
});
