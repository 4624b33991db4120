/**
 * Migration `0003_documents`.
 * Never edit it once released; add a new one.
 */
import { type Kysely, type Migration, PostgresAdapter, sql } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    const pg = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema
      .createTable("documents")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("title", "text")
      .addColumn("content", "text", (c) => c.notNull())
      .addColumn("integration_id", "text")
      .addColumn("session_id", "text")
      .addColumn("metadata", "text", (c) => c.notNull().defaultTo("{}"))
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    // Chunks carry their document's filters, so a search never joins documents to filter.
    await db.schema
      .createTable("document_chunks")
      .addColumn("id", pg ? "bigserial" : "integer", (c) =>
        pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn("document_id", "text", (c) =>
        c.notNull().references("documents.id").onDelete("cascade"),
      )
      .addColumn("ordinal", "integer", (c) => c.notNull())
      .addColumn("content", "text", (c) => c.notNull())
      .addColumn("integration_id", "text")
      .addColumn("session_id", "text")
      .addColumn("embedding_model", "text")
      .addColumn("embedding", pg ? "bytea" : "blob")
      .execute();
    await db.schema
      .createIndex("document_chunks_document")
      .on("document_chunks")
      .columns(["document_id", "ordinal"])
      .execute();
    await db.schema
      .createIndex("document_chunks_embedding")
      .on("document_chunks")
      .columns(["embedding_model", "id"])
      .where(sql.ref("embedding"), "is not", null)
      .execute();
    // Bumped by every document write, so a process can tell cheaply whether its copy of
    // the vectors is current.
    await db.schema
      .createTable("document_index_state")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("generation", "bigint", (c) => c.notNull())
      .execute();
    await db.insertInto("document_index_state").values({ id: 1, generation: 0 }).execute();
    if (pg) {
      // Title (weight A) and chunk text (weight B), English stemming and stop words.
      await sql`ALTER TABLE document_chunks ADD COLUMN tsv tsvector NOT NULL`.execute(db);
      await sql`CREATE INDEX document_chunks_tsv ON document_chunks USING gin (tsv)`.execute(db);
      return;
    }
    // FTS5 keeps only the index (contentless); the text stays in document_chunks.
    await sql`CREATE VIRTUAL TABLE document_chunks_fts USING fts5(title, content, content='', contentless_delete=1, tokenize='porter unicode61 remove_diacritics 2')`.execute(
      db,
    );
    await sql`CREATE VIRTUAL TABLE document_chunks_fts_terms USING fts5vocab(document_chunks_fts, 'row')`.execute(
      db,
    );
    await sql`CREATE TRIGGER document_chunks_fts_insert AFTER INSERT ON document_chunks BEGIN
      INSERT INTO document_chunks_fts(rowid, title, content) VALUES (new.id,
        coalesce((SELECT title FROM documents WHERE id = new.document_id), ''), new.content);
    END`.execute(db);
    await sql`CREATE TRIGGER document_chunks_fts_delete AFTER DELETE ON document_chunks BEGIN
      DELETE FROM document_chunks_fts WHERE rowid = old.id;
    END`.execute(db);
  },
};
