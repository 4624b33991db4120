/**
 * Vector helpers. Vectors are stored unit-length, so cosine similarity is a dot product.
 * Two engines:
 * - `pgvector`: PostgreSQL with the `vector` extension; the database orders by `<=>`
 *   (cosine distance) itself, exactly (no approximate index: the column has no fixed size).
 * - `exact`: SQLite, or PostgreSQL without pgvector; float32 BLOB/bytea rows, scanned in
 *   full from an in-memory copy (see vector-index.ts).
 * Only vectors made by the configured model are compared. Their storage and the pgvector
 * queries are in `src/store/vectors.ts`.
 */
/** A unit-length float32 copy of `v`. @throws RangeError for an empty, zero or non-finite vector */
export function normalize(v: ArrayLike<number>): Float32Array {
  const out = new Float32Array(v.length);
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) throw new RangeError("embedding contains a non-finite number");
    out[i] = x;
    sum += x * x;
  }
  if (!v.length || sum === 0) throw new RangeError("embedding is empty or zero");
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < out.length; i++) out[i]! *= inv;
  return out;
}

/** Keeps the `n` items with the highest scores (a min-heap). */
export class TopN<T> {
  readonly #n: number;
  readonly #heap: Array<[number, T]> = [];
  constructor(n: number) {
    this.#n = n;
  }
  /** Adds an item if it ranks; returns the score an item must now beat to rank. */
  offer(score: number, item: T): number {
    const h = this.#heap;
    if (h.length < this.#n) {
      h.push([score, item]);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p]![0] <= h[i]![0]) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
      return h.length < this.#n ? Number.NEGATIVE_INFINITY : h[0]![0];
    }
    if (this.#n === 0) return Number.POSITIVE_INFINITY;
    if (score <= h[0]![0]) return h[0]![0];
    h[0] = [score, item];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]![0] < h[m]![0]) m = l;
      if (r < h.length && h[r]![0] < h[m]![0]) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
    return h[0]![0];
  }
  sorted(): Array<[number, T]> {
    return [...this.#heap].sort((a, b) => b[0] - a[0]);
  }
}
