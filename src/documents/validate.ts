/**
 * The checks every way into the documents store makes (REST checks the same with its schema;
 * `ctx.ingestDocument` relies on these): text where text is expected, and no NUL character,
 * which PostgreSQL cannot store in text or JSON, so both stores refuse alike.
 */

import { nulPath } from "../lib/json-guards.ts";
import type { DocumentInput } from "../sdk/documents.ts";
import { InvalidInputError } from "../sessions/errors.ts";

/**
 * @throws InvalidInputError naming the field (`content`, `title`, `metadata`, or a metadata
 *   path such as `metadata.tags.1`) unless `content` is non-blank text, `title` text or
 *   null/absent, `metadata` a plain object or absent, and none of them holds a NUL character
 */
export function checkDocumentInput(input: DocumentInput): void {
  if (typeof input?.content !== "string")
    throw new InvalidInputError("content", "must be a string");
  if (!input.content.trim()) throw new InvalidInputError("content", "must not be empty");
  if (input.content.includes("\u0000")) {
    throw new InvalidInputError("content", "must not contain NUL characters");
  }
  const title = input.title;
  if (title !== undefined && title !== null) {
    if (typeof title !== "string") throw new InvalidInputError("title", "must be a string");
    if (title.includes("\u0000"))
      throw new InvalidInputError("title", "must not contain NUL characters");
  }
  const metadata = input.metadata;
  if (metadata !== undefined) {
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
      throw new InvalidInputError("metadata", "must be an object");
    }
    const nul = nulPath(metadata, "metadata");
    if (nul !== undefined) throw new InvalidInputError(nul, "must not contain NUL characters");
  }
}
