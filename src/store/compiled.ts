/**
 * Queries compiled once: a hot query is written with the query builder as usual, built and
 * compiled to SQL once per dialect, and then run with fresh parameter values each time,
 * skipping the builder and the compiler (most of the CPU of a one-row read or write).
 *
 *   const byKey = compiledQuery<{ key: string }, Row>((db, p) =>
 *     db.selectFrom("t").selectAll().where("key", "=", p.key));
 *   const rows = await byKey.rows(this.#q, { key });
 *
 * The builder is called with placeholder values (`p.key` is a marker string, not the
 * value), so it must pass them through as query parameters and never compute with them
 * (`p.key.length`, a branch on a value): such a query would be wrong for other values. To
 * catch that, it is compiled twice with two different sets of markers; if the SQL or any
 * parameter that is not a marker differs between the two, building it throws.
 *
 * On SQLite the statement runs at once on the connection when the handle allows it (inside
 * the transaction that holds it, or when it is free), skipping Kysely's executor too.
 */
import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from "kysely";
import type { Dialect } from "./db.ts";
import type { Database } from "./schema.ts";

/**
 * Where a compiled query runs: a Kysely handle (the database or one transaction), its
 * dialect and, on SQLite, the direct runner (./sqlite-driver.ts) of that handle.
 */
export interface QueryHandle {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /** Runs the statement at once, or answers undefined when it must go through Kysely. */
  direct?: (sql: string, parameters: readonly unknown[]) => QueryResult<unknown> | undefined;
}

/** One parameter slot of a compiled query: an argument by name, or a constant. */
type Slot = { arg: string } | { value: unknown };

interface Template {
  sql: string;
  slots: Slot[];
}

/** Marker prefixes of the two compilations (different lengths and contents on purpose). */
const MARKERS = ["\u0000sy-a:", "\u0000sy-bb:"] as const;

/** Builds the query with marker strings for every argument. */
type Builder<A> = (db: Kysely<Database>, args: A) => Compilable<unknown>;

function compileWith<A>(db: Kysely<Database>, build: Builder<A>, marker: string) {
  const args = new Proxy({} as Record<string, string>, {
    get: (_t, name) => (typeof name === "string" ? `${marker}${name}` : undefined),
  }) as unknown as A;
  return build(db, args).compile();
}

function argOf(p: unknown, marker: string): string | undefined {
  return typeof p === "string" && p.startsWith(marker) ? p.slice(marker.length) : undefined;
}

function template<A>(db: Kysely<Database>, build: Builder<A>): Template {
  const [a, b] = MARKERS.map((m) => compileWith(db, build, m)) as [CompiledQuery, CompiledQuery];
  const same =
    a.sql === b.sql &&
    a.parameters.length === b.parameters.length &&
    a.parameters.every((p, i) => {
      const q = b.parameters[i];
      const [an, bn] = [argOf(p, MARKERS[0]), argOf(q, MARKERS[1])];
      return an !== undefined || bn !== undefined ? an === bn : Object.is(p, q);
    });
  if (!same) {
    throw new Error(
      `compiledQuery: the query depends on its argument values (${a.sql}); build it with the query builder per call instead`,
    );
  }
  return {
    sql: a.sql,
    slots: a.parameters.map((p) => {
      const arg = argOf(p, MARKERS[0]);
      return arg !== undefined ? { arg } : { value: p };
    }),
  };
}

/** A query compiled once per dialect (see the module comment). */
export interface PrecompiledQuery<A, R> {
  /** Runs it on `h` (the database or a transaction) with `args`; returns Kysely's result. */
  execute(h: QueryHandle, args: A): Promise<QueryResult<R>>;
  /** Runs it and returns its rows. */
  rows(h: QueryHandle, args: A): Promise<R[]>;
}

/**
 * Makes a query compiled once per dialect from a builder function.
 * @param build builds the query from `db` and the arguments (markers while compiling)
 * @throws Error (on first use) when the built SQL or its constants depend on the argument
 *   values
 */
export function compiledQuery<A extends Record<string, unknown>, R = unknown>(
  build: Builder<A>,
): PrecompiledQuery<A, R> {
  const templates = new Map<Dialect, Template>();
  const execute = async (h: QueryHandle, args: A): Promise<QueryResult<R>> => {
    let t = templates.get(h.dialect);
    if (!t) {
      t = template(h.kysely, build);
      templates.set(h.dialect, t);
    }
    const params = t.slots.map((s) => ("arg" in s ? args[s.arg] : s.value));
    const now = h.direct?.(t.sql, params);
    if (now) return now as QueryResult<R>;
    return h.kysely.executeQuery<R>(CompiledQuery.raw(t.sql, params));
  };
  return {
    execute,
    rows: async (h, args) => (await execute(h, args)).rows,
  };
}
