/**
 * Counting and hashing a file while it streams: the bytes pass through unchanged, the size
 * limit is enforced as they arrive (never after reading everything), and the SHA-256 and
 * size are known once the stream ends.
 */
import { createHash } from "node:crypto";
import { AttachmentTooLargeError } from "./errors.ts";

/** What {@link measured} knows once its stream has ended. */
export interface Measure {
  /** Bytes seen so far. */
  size: number;
  /** Hex SHA-256 of everything seen; set once the stream ended. */
  sha256?: string;
}

/** `Uint8Array` or an async iterable of chunks, as one async iterable. */
export async function* chunksOf(
  data: Uint8Array | AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) {
    yield data;
    return;
  }
  for await (const chunk of data) yield typeof chunk === "string" ? Buffer.from(chunk) : chunk;
}

/**
 * Passes `data` through, counting and hashing it into `m`.
 * @throws AttachmentTooLargeError as soon as more than `maxBytes` bytes arrived (the source
 *   is not read further)
 */
export async function* measured(
  data: Uint8Array | AsyncIterable<Uint8Array>,
  maxBytes: number,
  m: Measure,
): AsyncIterable<Uint8Array> {
  const hash = createHash("sha256");
  for await (const chunk of chunksOf(data)) {
    m.size += chunk.byteLength;
    if (m.size > maxBytes) throw new AttachmentTooLargeError(maxBytes);
    hash.update(chunk);
    yield chunk;
  }
  m.sha256 = hash.digest("hex");
}
