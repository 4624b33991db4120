/**
 * Splits text into overlapping chunks for indexing: at most {@link CHUNK_SIZE} characters,
 * each starting about {@link CHUNK_OVERLAP} characters before the previous one ended.
 * A chunk ends at the last paragraph break, else sentence end, else line break, else space
 * in its second half; only text without any of these is cut mid-word. The overlap starts
 * at a sentence (or at least a word) so that no chunk begins inside a word.
 */

/** Largest chunk, in UTF-16 code units (characters, for most text). */
export const CHUNK_SIZE = 1000;
/** How far a chunk reaches back into the previous one (at most). */
export const CHUNK_OVERLAP = 200;

/** One chunk and where it starts in the (line-ending normalised) text. */
export interface Chunk {
  index: number;
  start: number;
  content: string;
}

/**
 * Chunks `text`. Blank text gives no chunks; text up to `size` gives one.
 * @param size largest chunk (default {@link CHUNK_SIZE})
 * @param overlap characters shared with the previous chunk, at most (default {@link CHUNK_OVERLAP})
 */
export function chunkText(text: string, size = CHUNK_SIZE, overlap = CHUNK_OVERLAP): Chunk[] {
  if (overlap >= size / 2) throw new RangeError("overlap must be less than half the chunk size");
  const t = text.replace(/\r\n?/g, "\n");
  const chunks: Chunk[] = [];
  let start = skipSpace(t, 0);
  while (start < t.length) {
    let end = Math.min(start + size, t.length);
    if (end < t.length) end = breakBefore(t, start + Math.floor(size / 2), end);
    const content = t.slice(start, end).trimEnd();
    if (content) chunks.push({ index: chunks.length, start, content });
    if (end >= t.length) break;
    const next = startAfter(t, Math.max(end - overlap, start + 1), end);
    start = skipSpace(t, next > start ? next : end);
  }
  return chunks;
}

/** A sentence end: Western punctuation before a space, or CJK full-width punctuation. */
const SENTENCE_END = /[.!?…]["')\]]*(?=\s)|[。！？]["'）」』]*/g;
/** Where a sentence starts: after a sentence end and any space. */
const SENTENCE_START = new RegExp(`(?:${SENTENCE_END.source})\\s*(?=\\S)`);

function skipSpace(t: string, i: number): number {
  while (i < t.length && /\s/.test(t[i]!)) i++;
  return i;
}

/** The best place to end a chunk within [lo, hi]: after a paragraph, sentence, line or word. */
function breakBefore(t: string, lo: number, hi: number): number {
  const window = t.slice(lo, hi + 1);
  const para = window.lastIndexOf("\n\n");
  if (para > 0) return lo + para;
  let sentence = -1;
  for (const m of window.matchAll(SENTENCE_END)) {
    if (m.index + m[0].length <= hi - lo) sentence = m.index + m[0].length;
  }
  if (sentence > 0) return lo + sentence;
  const line = window.lastIndexOf("\n");
  if (line > 0) return lo + line;
  const space = window.search(/\s\S*$/);
  if (space > 0) return lo + space;
  // No boundary: cut, but never between the halves of a surrogate pair.
  const code = t.charCodeAt(hi - 1);
  return code >= 0xd800 && code <= 0xdbff ? hi - 1 : hi;
}

/**
 * Where the next chunk starts, in [lo, hi): a sentence start if any, else a word start,
 * else `lo`.
 */
function startAfter(t: string, lo: number, hi: number): number {
  const window = t.slice(lo, hi);
  const sentence = SENTENCE_START.exec(window);
  if (sentence) return lo + sentence.index + sentence[0].length;
  if (lo > 0 && /\s/.test(t[lo - 1]!)) return lo;
  const word = /\s+(?=\S)/.exec(window);
  // Text without spaces (code, CJK, data): overlap by characters.
  if (word) return lo + word.index + word[0].length;
  const code = t.charCodeAt(lo);
  return code >= 0xdc00 && code <= 0xdfff ? lo + 1 : lo;
}
