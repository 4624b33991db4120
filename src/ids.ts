/**
 * Time-ordered UUIDs (RFC 9562 version 7). Within one process, ids are strictly
 * increasing even when several are made in the same millisecond (the 12-bit
 * `rand_a` field is used as a counter, RFC 9562 §6.2 method 1), so the store can
 * order tasks and messages by id.
 */
import { randomFillSync } from "node:crypto";

let lastMs = 0;
let counter = 0;
/** Random bytes drawn in blocks (one getrandom call per 256 ids instead of per id). */
const pool = Buffer.alloc(16 * 256);
let poolOffset = pool.length;

/**
 * A new UUIDv7 string, e.g. `0192f7c1-7a3e-7c01-8a4f-3b2d1e0f9a8b`.
 * @param at a time (ms since epoch) to make the id for, outside this process's increasing
 *   sequence: what another instance with that clock would make (tests of clock skew)
 */
export function uuidv7(at?: number): string {
  let ms = at ?? Date.now();
  let seq = 0;
  if (at !== undefined) {
    // Not part of this process's sequence: leave its state alone.
  } else if (ms <= lastMs) {
    counter++;
    if (counter > 0xfff) {
      // Counter exhausted within one millisecond: borrow the next millisecond.
      lastMs++;
      counter = 0;
    }
    ms = lastMs;
    seq = counter;
  } else {
    lastMs = ms;
    counter = 0;
  }
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const b = Buffer.from(pool.subarray(poolOffset, poolOffset + 16));
  poolOffset += 16;
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = 0x70 | ((seq >>> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `s` has the textual shape of a UUID (any version). */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
