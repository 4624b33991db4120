/**
 * Document search benchmark: ingest documents/s and search latency p50/p99 at 10,000 and
 * 100,000 chunks, lexical and hybrid, through the REST API of an in-process server on
 * 127.0.0.1 (the load generator shares its thread; times are measured at the client).
 *
 * Corpus: synthetic documents of ~3,000 characters (~4 chunks) in paragraphs and
 * sentences, words drawn from a Zipf distribution over 30,000 words whose most frequent
 * 60 are English stop words, so that common words occur in most chunks as in real text.
 *
 * Per cell (backend × mode) a fresh server and database; documents are POSTed by 8
 * concurrent clients until the corpus reaches each size; at each size 20 warm-up and then
 * --queries searches run one at a time (limit 10), in two query mixes:
 * - natural: 3 words drawn from a random ingested document's text (stop words included);
 * - keywords: 2 words of frequency rank 200–5,000 (content words).
 * Hybrid cells embed through a fake OpenAI-compatible embeddings server in this process
 * (bag-of-words hashing, --dims numbers per vector), so hybrid figures include one
 * embedding request per search and per ingest batch, at the fake's speed.
 *
 * Options: --sizes=10000,100000 --backend=sqlite[,postgres] --modes=lexical,hybrid
 * --queries=300 --dims=384
 */
import { cpus } from "node:os";
import { chunkText } from "../src/documents/chunking.ts";
import { startTestApp, type TestApp } from "../test/support/app.ts";
import { postgresUrl } from "../test/support/db.ts";
import { type FakeEmbeddings, startFakeEmbeddings } from "../test/support/fake-embeddings.ts";
import { apiClient } from "./support/api-client.ts";
import { option } from "./support/args.ts";
import { percentile } from "./support/stats.ts";

export const description =
  "documents: ingest docs/s, search p50/p99 at 10k and 100k chunks, lexical and hybrid";

type Mode = "lexical" | "hybrid";
type Backend = "sqlite" | "postgres";

const STOPWORDS = (
  "the of and to a in is that for it as with was on be by this are or from at an which " +
  "have not but can all will one has their more also its were been if when they there " +
  "we you he she into than so other some what about these may only new out up"
).split(" ");

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Corpus {
  readonly vocab: string[];
  readonly #cdf: Float64Array;
  readonly #rnd: () => number;
  constructor(size = 30_000, seed = 42) {
    this.#rnd = prng(seed);
    const syl =
      "ka ve lo mi tor san pel dur fin gra hos jun kel mor nav pix qua rul sef tam vin wex yor zel bri cro dan esk".split(
        " ",
      );
    const seen = new Set(STOPWORDS);
    this.vocab = [...STOPWORDS];
    while (this.vocab.length < size) {
      let w = "";
      const n = 2 + Math.floor(this.#rnd() * 3);
      for (let i = 0; i < n; i++) w += syl[Math.floor(this.#rnd() * syl.length)];
      if (!seen.has(w)) {
        seen.add(w);
        this.vocab.push(w);
      }
    }
    this.#cdf = new Float64Array(size);
    let s = 0;
    for (let i = 0; i < size; i++) this.#cdf[i] = s += 1 / (i + 1);
  }
  rnd(): number {
    return this.#rnd();
  }
  word(): string {
    const x = this.#rnd() * this.#cdf[this.#cdf.length - 1]!;
    let lo = 0;
    let hi = this.#cdf.length - 1;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (this.#cdf[m]! < x) lo = m + 1;
      else hi = m;
    }
    return this.vocab[lo]!;
  }
  sentence(): string {
    const n = 8 + Math.floor(this.#rnd() * 13);
    const ws = Array.from({ length: n }, () => this.word());
    const s = ws.join(" ");
    return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
  }
  doc(): { title: string; content: string } {
    const paras: string[] = [];
    let len = 0;
    while (len < 2800) {
      const p = Array.from({ length: 3 + Math.floor(this.#rnd() * 4) }, () => this.sentence()).join(
        " ",
      );
      paras.push(p);
      len += p.length + 2;
    }
    const title = Array.from({ length: 3 + Math.floor(this.#rnd() * 3) }, () => this.word()).join(
      " ",
    );
    return { title, content: paras.join("\n\n") };
  }
}

interface Cell {
  backend: Backend;
  mode: Mode;
}

interface Row {
  cell: Cell;
  chunks: number;
  docs: number;
  ingestDocsPerSec: number;
  ingestChunksPerSec: number;
  natural: { p50: number; p99: number; hits: number };
  keywords: { p50: number; p99: number; hits: number };
  modeSeen: string;
}

async function runCell(cell: Cell, sizes: number[], queries: number, dims: number): Promise<Row[]> {
  let emb: FakeEmbeddings | undefined;
  if (cell.mode === "hybrid") emb = await startFakeEmbeddings({ dims, record: false });
  const app: TestApp = await startTestApp({
    backend: cell.backend,
    env: {
      SWITCHYARD_LOG_LEVEL: "warn",
      ...(emb
        ? { SWITCHYARD_EMBEDDING_MODEL: "ollama:bench-embed", OLLAMA_BASE_URL: emb.url }
        : {}),
    },
  });
  const http = apiClient(app.url, 16);
  const corpus = new Corpus();
  const samples: string[][] = [];
  let chunks = 0;
  let docs = 0;
  const rows: Row[] = [];
  try {
    for (const size of sizes) {
      const started = performance.now();
      const startDocs = docs;
      const startChunks = chunks;
      const worker = async () => {
        while (chunks < size) {
          const d = corpus.doc();
          chunks += chunkText(d.content).length;
          docs++;
          if (docs % 20 === 0) samples.push(d.content.toLowerCase().match(/[a-z]+/g)!);
          const { status } = await http.post("/api/v1/documents", d);
          if (status !== 201) throw new Error(`ingest answered ${status}`);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const secs = (performance.now() - started) / 1000;
      const mix = async (make: () => string) => {
        const times: number[] = [];
        let hits = 0;
        let modeSeen = "";
        for (let i = 0; i < queries + 20; i++) {
          const q = make();
          const t0 = performance.now();
          const r = await http.get(`/api/v1/documents/search?q=${encodeURIComponent(q)}`);
          const ms = performance.now() - t0;
          if (r.status !== 200) throw new Error(`search answered ${r.status}`);
          modeSeen = r.json.mode;
          if (i >= 20) {
            times.push(ms);
            if (r.json.results.length) hits++;
          }
        }
        times.sort((a, b) => a - b);
        return { p50: percentile(times, 50), p99: percentile(times, 99), hits, modeSeen };
      };
      const natural = await mix(() => {
        const ws = samples[Math.floor(corpus.rnd() * samples.length)]!;
        return Array.from({ length: 3 }, () => ws[Math.floor(corpus.rnd() * ws.length)]).join(" ");
      });
      const keywords = await mix(() =>
        Array.from({ length: 2 }, () => corpus.vocab[200 + Math.floor(corpus.rnd() * 4800)]).join(
          " ",
        ),
      );
      const row: Row = {
        cell,
        chunks,
        docs,
        ingestDocsPerSec: (docs - startDocs) / secs,
        ingestChunksPerSec: (chunks - startChunks) / secs,
        natural,
        keywords,
        modeSeen: natural.modeSeen,
      };
      rows.push(row);
      print(row, queries);
    }
  } finally {
    await http.close();
    await app.close();
    await emb?.close();
  }
  return rows;
}

function print(r: Row, queries: number): void {
  const f = (x: number) => x.toFixed(2).padStart(7);
  console.log(
    `${r.cell.backend.padEnd(8)} ${r.modeSeen.padEnd(7)} ${String(r.chunks).padStart(7)} chunks ` +
      `${String(r.docs).padStart(6)} docs | ingest ${r.ingestDocsPerSec.toFixed(0).padStart(5)} docs/s ` +
      `(${r.ingestChunksPerSec.toFixed(0)} chunks/s) | natural p50 ${f(r.natural.p50)} p99 ${f(r.natural.p99)} ms ` +
      `| keywords p50 ${f(r.keywords.p50)} p99 ${f(r.keywords.p99)} ms ` +
      `| hits ${r.natural.hits}/${queries}, ${r.keywords.hits}/${queries}`,
  );
}

/** Runs the benchmark; see the module comment for options. */
export async function run(args: string[]): Promise<void> {
  const sizes = (option(args, "sizes") ?? "10000,100000").split(",").map(Number);
  const backends = (option(args, "backend") ?? "sqlite").split(",") as Backend[];
  const modes = (option(args, "modes") ?? "lexical,hybrid").split(",") as Mode[];
  const queries = Number(option(args, "queries") ?? "300");
  const dims = Number(option(args, "dims") ?? "384");
  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? "cpu"} × ${cpus().length}; ` +
      `server in this process on 127.0.0.1; ${queries} searches per mix, one at a time; ` +
      `hybrid vectors: ${dims} dims from a fake embeddings server in this process`,
  );
  for (const backend of backends) {
    if (backend === "postgres" && !postgresUrl) {
      console.log("postgres: skipped (SWITCHYARD_TEST_POSTGRES_URL is not set)");
      continue;
    }
    for (const mode of modes) await runCell({ backend, mode }, sizes, queries, dims);
  }
}
