/**
 * A fake OpenAI-compatible embeddings server for tests and benchmarks: `POST /v1/embeddings`
 * (also `/embeddings`) on 127.0.0.1, answering with deterministic vectors.
 *
 * A text's vector is a bag of words hashed into `dims` dimensions, after folding words
 * into concepts with a small synonym table ("automobile" and "car" are one concept), so
 * texts about the same thing in different words come out similar; that is the
 * "semantic" signal hybrid search tests rely on. Stop words are skipped.
 */
import { readBody, sendJson, startLocalServer } from "./http-server.ts";

/** Words folded into one concept (the first word names it). */
export const SYNONYMS: string[][] = [
  ["car", "cars", "automobile", "automobiles", "vehicle", "vehicles", "auto", "sedan", "motor"],
  ["doctor", "doctors", "physician", "physicians", "medic", "clinician"],
  ["money", "cash", "funds", "payment", "payments", "currency"],
  ["happy", "glad", "joyful", "cheerful", "delighted"],
  ["repair", "repairs", "fix", "fixing", "mend", "service", "servicing", "maintenance"],
  ["cook", "cooking", "recipe", "recipes", "bake", "baking", "kitchen"],
  ["ocean", "sea", "seas", "marine", "oceans"],
];

const STOP = new Set(
  "a an and are as at be by for from has have how i in is it my of on or that the this to was what when where which who why will with you your do does".split(
    " ",
  ),
);

const concept = new Map<string, string>();
for (const group of SYNONYMS) for (const w of group) concept.set(w, group[0]!);

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The fake embedding of `text`: deterministic, unit length (or zero for no words). */
export function fakeEmbedding(text: string, dims = 64): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const raw of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (STOP.has(raw)) continue;
    const w = concept.get(raw) ?? raw;
    const h = fnv1a(w);
    v[h % dims]! += (h >>> 31) & 1 ? -1 : 1;
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  if (norm === 0) {
    v[0] = 1; // a text of stop words only: some fixed direction, never a zero vector
    return v;
  }
  return v.map((x) => x / norm);
}

/** One request received. */
export interface FakeEmbeddingsRequest {
  model: string;
  input: string[];
}

/** Handle on a running fake embeddings server. */
export interface FakeEmbeddings {
  /** Root URL, e.g. `http://127.0.0.1:12345` (use as OLLAMA_BASE_URL; `/v1` is added). */
  url: string;
  /** Every request received (unless started with `record: false`). */
  requests: FakeEmbeddingsRequest[];
  /** Texts embedded so far. */
  texts: number;
  /** The next `n` requests fail with `status`. */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

/** Starts the server. @param opts.dims vector size (default 64) */
export async function startFakeEmbeddings(
  opts: { dims?: number; record?: boolean } = {},
): Promise<FakeEmbeddings> {
  const dims = opts.dims ?? 64;
  const record = opts.record !== false;
  let failures = 0;
  let failStatus = 500;
  const handle: FakeEmbeddings = {
    url: "",
    requests: [],
    texts: 0,
    failNext(n, status = 500) {
      failures = n;
      failStatus = status;
    },
    close: async () => {},
  };

  const local = await startLocalServer(async (req, res) => {
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "POST" || (path !== "/v1/embeddings" && path !== "/embeddings")) {
      return sendJson(res, 404, { error: { message: `Not found: ${req.method} ${path}` } });
    }
    let body: { model?: unknown; input?: unknown };
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      return sendJson(res, 400, { error: { message: "Invalid JSON body" } });
    }
    const input = typeof body.input === "string" ? [body.input] : body.input;
    if (!Array.isArray(input) || !input.every((x) => typeof x === "string")) {
      return sendJson(res, 400, { error: { message: "input must be a string or strings" } });
    }
    const model = typeof body.model === "string" ? body.model : "";
    if (record) handle.requests.push({ model, input });
    if (failures > 0) {
      failures--;
      return sendJson(res, failStatus, {
        error: { message: `Fake embeddings error ${failStatus}` },
      });
    }
    handle.texts += input.length;
    const tokens = input.reduce((s, x) => s + Math.ceil(x.length / 4), 0);
    sendJson(res, 200, {
      object: "list",
      model,
      data: input.map((x, index) => ({
        object: "embedding",
        index,
        embedding: fakeEmbedding(x, dims),
      })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  });
  handle.url = local.url;
  handle.close = () => local.close();
  return handle;
}
