/**
 * Migration `0004_skills`.
 * Never edit it once released; add a new one.
 */
import type { Kysely, Migration } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("skills")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("integration", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
      .addColumn("content", "text", (c) => c.notNull())
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("skills_integration").on("skills").column("integration").execute();
    // What a run could not honour (unknown skills or tools…): a JSON array of strings.
    await db.schema.alterTable("tasks").addColumn("warnings", "text").execute();
  },
};
