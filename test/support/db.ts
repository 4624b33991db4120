/**
 * Databases for tests: a fresh SQLite file in a temp dir always, and a fresh PostgreSQL
 * database per suite when `SWITCHYARD_TEST_POSTGRES_URL` is set (dropped afterwards).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** A database for one suite. */
export interface TestDatabase {
  kind: "sqlite" | "postgres";
  url: string;
  /** Removes it. */
  drop(): Promise<void>;
}

/** The PostgreSQL server URL for tests, or undefined when those suites are off. */
export const postgresUrl = process.env.SWITCHYARD_TEST_POSTGRES_URL || undefined;

/** The backends to run a suite on: sqlite, plus postgres when configured. */
export const backends: Array<"sqlite" | "postgres"> = postgresUrl
  ? ["sqlite", "postgres"]
  : ["sqlite"];

/** A temp directory, removed by the returned function. */
export function tempDir(prefix = "switchyard-test-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Creates an empty database of the given kind. */
export async function createTestDatabase(kind: "sqlite" | "postgres"): Promise<TestDatabase> {
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
