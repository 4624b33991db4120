/**
 * Databases for tests: a fresh SQLite file in a temp dir always, and a fresh PostgreSQL
 * database per suite when `SWITCHYARD_TEST_POSTGRES_URL` is set (dropped afterwards);
 * without it the PostgreSQL suites are registered and reported as skipped.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** A database for one suite. */
export interface TestDatabase {
  kind: Backend;
  url: string;
  /** Removes it. */
  drop(): Promise<void>;
}

/** The PostgreSQL server URL for tests, or undefined when those suites are off. */
export const postgresUrl = process.env.SWITCHYARD_TEST_POSTGRES_URL || undefined;

/** A store backend the suites cover. */
export type Backend = "sqlite" | "postgres";

/**
 * Every backend a store-backed suite is registered for, whether or not it can run here:
 * loop over this and give each suite {@link runsOn} so an unavailable backend shows
 * up as skipped with its reason instead of silently missing from the count.
 */
export const ALL_BACKENDS: readonly Backend[] = ["sqlite", "postgres"];

/** Why PostgreSQL suites are skipped when no server is configured. */
export const POSTGRES_SKIP_REASON = "SWITCHYARD_TEST_POSTGRES_URL is not set";

/**
 * The node:test options for a suite (or test) on `backend`: `{}` when it can run here, or
 * `{ skip: reason }` for PostgreSQL when `SWITCHYARD_TEST_POSTGRES_URL` is unset.
 *
 * @throws Error when PostgreSQL is unavailable but `SWITCHYARD_TEST_REQUIRE_POSTGRES=1`
 *   (set by `.ci/run`), so CI fails instead of passing with those suites skipped.
 */
export function runsOn(backend: Backend): { skip?: string } {
  if (backend === "sqlite" || postgresUrl) return {};
  if (process.env.SWITCHYARD_TEST_REQUIRE_POSTGRES === "1") {
    throw new Error(
      `SWITCHYARD_TEST_REQUIRE_POSTGRES=1 but ${POSTGRES_SKIP_REASON}: the PostgreSQL suites must run`,
    );
  }
  return { skip: POSTGRES_SKIP_REASON };
}

/** A temp directory, removed by the returned function. */
export function tempDir(prefix = "switchyard-test-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Creates an empty database of the given kind. */
export async function createTestDatabase(kind: Backend): Promise<TestDatabase> {
  if (kind === "sqlite") {
    const dir = tempDir();
    return { kind, url: `sqlite:${join(dir.path, "test.db")}`, drop: async () => dir.remove() };
  }
  if (!postgresUrl) throw new Error("SWITCHYARD_TEST_POSTGRES_URL is not set");
  const name = `sy_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(postgresUrl);
  u.pathname = `/${name}`;
  return {
    kind,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: postgresUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
