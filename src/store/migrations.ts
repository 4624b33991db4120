/**
 * Schema migrations, in code, run at start by Kysely's Migrator. The same definitions
 * serve SQLite and PostgreSQL: times are `bigint` milliseconds, JSON is `text`.
 * Never edit a released migration; add a new one.
 */
import { type Kysely, type MigrationProvider, Migrator } from "kysely";
import { migrations } from "./migrations/index.ts";

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the schema up to date.
 * @throws Error naming the failed migration and the database's reason.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: "switchyard_migrations",
    // Migrations are numbered per feature and may land out of order (0004 before 0003);
    // a database that already ran a later one still gets the earlier one.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    const what = failed
      ? `Database migration ${failed.migrationName} failed`
      : "Database unavailable";
    throw new Error(`${what}: ${(error as Error).message ?? error}`);
  }
}
