/**
 * Keyset pagination over `(created_at, id)`, newest first: a page continues strictly after
 * the last row of the previous one, so rows inserted meanwhile never shift a page (no
 * duplicates, no gaps). Both columns together are unique, so the order is total.
 */
import { type ExpressionBuilder, sql } from "kysely";

/** Where the previous page ended: its last row's created_at (ms) and id. */
export interface PagePosition {
  createdAt: number;
  id: string;
}

/** What every list of this kind takes. */
export interface PageRequest {
  /** Rows created at or after this time (ms). */
  since?: number;
  /** Continue after this row (the previous page's last). */
  after?: PagePosition;
  /** Page size. */
  limit: number;
}

/** The condition "comes after `p` in newest-first order", for a table with created_at and id. */
export function olderThan(eb: ExpressionBuilder<any, any>, p: PagePosition) {
  return eb.or([
    eb("created_at", "<", p.createdAt),
    eb.and([eb("created_at", "=", p.createdAt), eb("id", "<", p.id)]),
  ]);
}

/**
 * The condition "the text column starts with `prefix`", exact and case-sensitive on both
 * stores (SQLite's LIKE ignores ASCII case, PostgreSQL's does not; no wildcard escaping).
 */
export function startsWith(column: string, prefix: string) {
  return sql<boolean>`substr(${sql.ref(column)}, 1, ${prefix.length}) = ${prefix}`;
}
