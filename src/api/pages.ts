/**
 * Cursor pagination for list routes (`GET /api/v1/sessions`, `GET /api/v1/tasks`): the
 * query fields every list shares (`limit`, `cursor`, `since`) and the answer's shape
 * `{items, next_cursor}`. A cursor is opaque to clients (base64url of the last row's
 * position); one that does not decode is refused with 400 like any invalid query field.
 */
import { z } from "zod";
import type { PagePosition } from "../store/keyset.ts";

/** Default and largest page sizes. */
export const PAGE_LIMIT = { default: 50, max: 200 } as const;

/** A string query field of at most `max` characters, without NUL (PostgreSQL refuses NUL). */
export function queryText(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.includes("\0"), "must not contain NUL characters");
}

/** Encodes where a page ended, for `next_cursor`. */
export function encodeCursor(p: PagePosition): string {
  return Buffer.from(JSON.stringify([p.createdAt, p.id])).toString("base64url");
}

/** Decodes a cursor, or undefined when it is not one this server made. */
export function decodeCursor(cursor: string): PagePosition | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Array.isArray(v) || v.length !== 2) return undefined;
    const [createdAt, id] = v;
    if (!Number.isSafeInteger(createdAt) || createdAt < 0) return undefined;
    if (typeof id !== "string" || id.length === 0 || id.length > 200 || id.includes("\0"))
      return undefined;
    return { createdAt, id };
  } catch {
    return undefined;
  }
}

/**
 * The query fields every list takes: `limit` (1–200, default 50), `cursor` (the previous
 * answer's `next_cursor`), `since` (ISO 8601 date-time: rows created then or later).
 * Parsed, `cursor` is a {@link PagePosition} and `since` milliseconds.
 */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(PAGE_LIMIT.max).default(PAGE_LIMIT.default),
  cursor: z
    .string()
    .max(1000)
    .transform((s, ctx) => {
      const p = decodeCursor(s);
      if (!p) {
        ctx.addIssue({ code: "custom", message: "malformed cursor" });
        return z.NEVER;
      }
      return p;
    })
    .optional(),
  since: z.iso
    .datetime({ offset: true })
    .transform((s) => Date.parse(s))
    .optional(),
};

/**
 * The answer of a list route: the page's items and, when the page is full, the cursor of
 * the next one (null on the last page).
 * @param rows up to `limit + 1` rows: one more than asked tells whether a next page exists
 */
export function page<R extends PagePosition, J>(
  rows: R[],
  limit: number,
  toJson: (r: R) => J,
): { items: J[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(toJson),
    next_cursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}
