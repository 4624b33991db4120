/**
 * Migration `0022_message_sequence`.
 * Messages of a session are ordered by a store-assigned sequence, `seq`, not by their id
 * (a UUIDv7 made from the writing instance's clock): with several instances, clocks skew
 * (issue 14, DESIGN §3 "a store-assigned sequence for order"). Existing rows are numbered
 * in their old order (by id). PostgreSQL: a sequence (`messages_seq`) as the column's
 * default; SQLite: `max(seq) + 1` in the insert (one writer at a time), kept fast and
 * unique by an index. The `(session_id, id)` index gives way to `(session_id, seq)`.
 * Never edit it once released; add a new one.
 */
import { type Kysely, type Migration, PostgresAdapter, sql } from "kysely";

export const migration: Migration = {
  async up(db: Kysely<any>) {
    const pg = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema.alterTable("messages").addColumn("seq", "bigint").execute();
    await sql`
      update messages set seq = r.n
      from (select id, row_number() over (order by id) as n from messages) as r
      where messages.id = r.id`.execute(db);
    if (pg) {
      await sql`create sequence messages_seq owned by messages.seq`.execute(db);
      await sql`select setval('messages_seq', (select coalesce(max(seq), 0) + 1 from messages), false)`.execute(
        db,
      );
      await sql`alter table messages alter column seq set default nextval('messages_seq')`.execute(
        db,
      );
      await sql`alter table messages alter column seq set not null`.execute(db);
    } else {
      await db.schema.createIndex("messages_seq").unique().on("messages").column("seq").execute();
    }
    await db.schema
      .createIndex("messages_session_seq")
      .on("messages")
      .columns(["session_id", "seq"])
      .execute();
    await db.schema.dropIndex("messages_session").execute();
  },
};
