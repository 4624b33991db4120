/**
 * Messages of a session, in the order the store gave them: `seq` (migration 0022), never
 * the id or `created_at`, which come from the writing instance's clock. On PostgreSQL an
 * insert first takes a transaction-scoped advisory lock on its session, so within a
 * session `seq` order is commit order: a reader that has seen `seq` n never later finds a
 * committed message below n (the session stream resumes after the last one it sent).
 * SQLite has one writer at a time, so `max(seq) + 1` is commit order there.
 */
import type { Kysely, Selectable } from "kysely";
import { sql } from "kysely";
import { uuidv7 } from "../ids.ts";
import { compiledQuery, type QueryHandle } from "./compiled.ts";
import { fromJson } from "./json.ts";
import type { Database, MessagesTable } from "./schema.ts";

/** Namespace of the per-session advisory locks (the first key of the two-key form). */
const SESSION_LOCK_CLASS = 0x5357;

/** Roles a message may have. */
export const MESSAGE_ROLES = ["system", "user", "assistant", "tool"] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

/** A stored message. */
export interface Message {
  id: string;
  sessionId: string;
  role: MessageRole;
  content: string;
  metadata: Record<string, unknown>;
  /** When the writing instance made it (its clock; ms since epoch). Not the order. */
  createdAt: number;
  /** The store-assigned order: increasing within a session, in commit order. */
  seq: number;
}

/** What {@link MessageRepository.insert} needs. */
export interface NewMessage {
  sessionId: string;
  role: MessageRole;
  content: string;
  metadata?: Record<string, unknown>;
  /** The id, when the caller made it first ({@link MessageRepository.newId}); default a new one. */
  id?: string;
}

/** The columns of a new row, as {@link MessageRepository.insert} passes them. */
type InsertArgs = {
  id: string;
  sessionId: string;
  role: string;
  content: string;
  metadata: string;
  createdAt: number;
};

// Every inbound message is inserted: compiled once per dialect (./compiled.ts).
const rowOf = (p: InsertArgs) => ({
  id: p.id,
  session_id: p.sessionId,
  role: p.role,
  content: p.content,
  metadata: p.metadata,
  created_at: p.createdAt,
});

/** PostgreSQL: `seq` is the column's sequence default (taken after the session lock). */
const insertPostgres = compiledQuery<InsertArgs, { seq: number | string }>((db, p) =>
  db.insertInto("messages").values(rowOf(p)).returning("seq"),
);

/** SQLite: one writer at a time, so the next `seq` is the table's highest plus one. */
const insertSqlite = compiledQuery<InsertArgs, { seq: number | string }>((db, p) =>
  db
    .insertInto("messages")
    .values({ ...rowOf(p), seq: sql<number>`(select coalesce(max(seq), 0) + 1 from messages)` })
    .returning("seq"),
);

/** PostgreSQL: the transaction-scoped advisory lock of one session (see the module comment). */
const lockSession = compiledQuery<{ sessionId: string }>((db, p) =>
  db.selectNoFrom(
    sql<unknown>`pg_advisory_xact_lock(${sql.lit(SESSION_LOCK_CLASS)}, hashtext(${p.sessionId}))`.as(
      "locked",
    ),
  ),
);

/**
 * The message `m` as stored with `args` and `seq`; its metadata is the caller's object, not
 * a parse of the JSON just written (same value, no copy).
 */
function storedMessage(m: NewMessage, args: InsertArgs, seq: number): Message {
  return {
    id: args.id,
    sessionId: m.sessionId,
    role: m.role,
    content: m.content,
    metadata: m.metadata ?? {},
    createdAt: args.createdAt,
    seq,
  };
}

function toMessage(r: Selectable<MessagesTable>): Message {
  return {
    id: r.id,
    sessionId: r.session_id,
    role: r.role as MessageRole,
    content: r.content,
    metadata: fromJson(r.metadata, {}),
    createdAt: r.created_at,
    seq: Number(r.seq),
  };
}

/** Messages of sessions. */
export class MessageRepository {
  readonly #db: Kysely<Database>;
  readonly #q: QueryHandle;
  readonly #clock: (() => number) | undefined;

  /**
   * @param q the handle (database or transaction) its compiled queries run on
   * @param clock this instance's clock for `created_at` and ids (tests skew it); default the real one
   */
  constructor(q: QueryHandle, clock?: () => number) {
    this.#db = q.kysely;
    this.#q = q;
    this.#clock = clock;
  }

  /** A new message id (UUIDv7 on this instance's clock), for {@link NewMessage.id}. */
  newId(): string {
    return this.#clock ? uuidv7(this.#clock()) : uuidv7();
  }

  /**
   * PostgreSQL: takes the session's transaction-scoped lock that {@link insert} takes
   * (see the module comment), for a caller that must hold it before other writes; a no-op
   * on SQLite (one writer at a time).
   */
  async lockSession(sessionId: string): Promise<void> {
    if (this.#q.dialect === "postgres") await lockSession.execute(this.#q, { sessionId });
  }

  /**
   * PostgreSQL: {@link lockSession} of several sessions in one statement, taken in one
   * global order (by the lock's key), so two transactions locking overlapping sets cannot
   * each hold a lock the other waits for; a no-op on SQLite.
   * @param sessionIds repeats are locked once
   */
  async lockSessions(sessionIds: string[]): Promise<void> {
    if (this.#q.dialect !== "postgres" || sessionIds.length === 0) return;
    const ids = [...new Set(sessionIds)];
    if (ids.length === 1) return this.lockSession(ids[0]!);
    await sql`select pg_advisory_xact_lock(${sql.lit(SESSION_LOCK_CLASS)}, k) from (
        select distinct hashtext(id) as k from unnest(${ids}::text[]) as t(id) order by k
      ) as keys`.execute(this.#db);
  }

  /**
   * Inserts messages in one statement (after {@link lockSessions} of their sessions on
   * PostgreSQL, unless `opts.locked`); returns them in the order given, each with its
   * `seq`, which increases in that order within a session. On SQLite the next `seq` is read
   * first, so call it in a transaction (which holds the write lock from its start). One
   * statement: at most a few hundred rows (its parameters are bounded: 65,535 on
   * PostgreSQL, 32,766 on SQLite).
   * @param opts.locked the caller took the sessions' locks in this transaction already
   */
  async insertMany(ms: NewMessage[], opts: { locked?: boolean } = {}): Promise<Message[]> {
    if (ms.length <= 1) return ms.length ? [await this.insert(ms[0]!, opts)] : [];
    const at = this.#clock ? this.#clock() : Date.now();
    const args = ms.map((m) => this.#argsOf(m, at));
    const seqs = new Map<string, number>();
    if (this.#q.dialect === "postgres") {
      if (!opts.locked) await this.lockSessions(ms.map((m) => m.sessionId));
      // Sequence defaults are drawn row by row in the order of VALUES.
      const back = await this.#db
        .insertInto("messages")
        .values(args.map(rowOf))
        .returning(["id", "seq"])
        .execute();
      for (const r of back) seqs.set(r.id, Number(r.seq));
    } else {
      // One writer at a time: the next numbers follow the table's highest.
      const top = await this.#db
        .selectFrom("messages")
        .select((eb) => eb.fn.coalesce(eb.fn.max("seq"), eb.lit(0)).as("top"))
        .executeTakeFirstOrThrow();
      const base = Number(top.top);
      const rows = args.map((a, i) => ({ ...rowOf(a), seq: base + i + 1 }));
      await this.#db.insertInto("messages").values(rows).execute();
      for (const r of rows) seqs.set(r.id, r.seq);
    }
    return ms.map((m, i) => {
      const seq = seqs.get(args[i]!.id);
      if (seq === undefined) throw new Error("messages.insertMany stored fewer rows than given");
      return storedMessage(m, args[i]!, seq);
    });
  }

  /**
   * Inserts a message (in the caller's transaction when given one); returns it with its `seq`.
   * @param opts.locked the caller took {@link lockSession} in this transaction already
   */
  async insert(m: NewMessage, opts: { locked?: boolean } = {}): Promise<Message> {
    const args = this.#argsOf(m, this.#clock ? this.#clock() : Date.now());
    let inserted: { seq: number | string } | undefined;
    if (this.#q.dialect === "postgres") {
      // Held until commit: the next message of this session takes its seq after this commits.
      if (!opts.locked) await lockSession.execute(this.#q, { sessionId: m.sessionId });
      [inserted] = await insertPostgres.rows(this.#q, args);
    } else {
      [inserted] = await insertSqlite.rows(this.#q, args);
    }
    if (!inserted) throw new Error("messages.insert returned no row");
    return storedMessage(m, args, Number(inserted.seq));
  }

  /** The columns of `m` made at `at` (ms): its id (a new one unless given), its metadata as JSON. */
  #argsOf(m: NewMessage, at: number): InsertArgs {
    return {
      id: m.id ?? (this.#clock ? uuidv7(at) : uuidv7()),
      sessionId: m.sessionId,
      role: m.role,
      content: m.content,
      metadata: JSON.stringify(m.metadata ?? {}),
      createdAt: at,
    };
  }

  /** The `seq` of message `id`, as a subquery (null when there is no such message). */
  #seqOf(id: string) {
    return this.#db.selectFrom("messages").select("seq").where("id", "=", id);
  }

  /** The message `id`, or undefined. */
  async get(id: string): Promise<Message | undefined> {
    const row = await this.#db
      .selectFrom("messages")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return row ? toMessage(row) : undefined;
  }

  /**
   * The newest `limit` messages of a session, oldest first.
   * @param beforeId only messages before this one (exclusive), when given
   */
  async listRecent(sessionId: string, limit: number, beforeId?: string): Promise<Message[]> {
    let q = this.#db.selectFrom("messages").selectAll().where("session_id", "=", sessionId);
    if (beforeId) q = q.where("seq", "<", this.#seqOf(beforeId));
    const rows = await q.orderBy("seq", "desc").limit(limit).execute();
    return rows.reverse().map(toMessage);
  }

  /**
   * Messages of a session after `afterId` (exclusive; all when absent or unknown), oldest
   * first, at most `limit`.
   */
  async listAfter(
    sessionId: string,
    afterId: string | undefined,
    limit: number,
  ): Promise<Message[]> {
    let q = this.#db.selectFrom("messages").selectAll().where("session_id", "=", sessionId);
    if (afterId) {
      q = q.where("seq", ">", (eb) => eb.fn.coalesce(this.#seqOf(afterId), eb.lit(0)));
    }
    const rows = await q.orderBy("seq", "asc").limit(limit).execute();
    return rows.map(toMessage);
  }

  /** Messages of every session created at or after `since` (ms), oldest first, at most `limit`. */
  async listCreatedSince(since: number, limit: number): Promise<Message[]> {
    const rows = await this.#db
      .selectFrom("messages")
      .selectAll()
      .where("created_at", ">=", since)
      .orderBy("created_at", "asc")
      .orderBy("id", "asc")
      .limit(limit)
      .execute();
    return rows.map(toMessage);
  }

  /**
   * The history a task's turn sees: the newest `limit` messages of the session before the
   * task's own message, plus assistant replies written after it (the answers to earlier
   * messages of a burst, which finish before this task starts), oldest first. Later user
   * messages are left out: they belong to later turns.
   */
  async turnHistory(
    sessionId: string,
    messageId: string | null,
    limit: number,
  ): Promise<Message[]> {
    let q = this.#db.selectFrom("messages").selectAll().where("session_id", "=", sessionId);
    if (messageId) {
      q = q
        .where("id", "!=", messageId)
        .where((eb) =>
          eb.or([eb("seq", "<", this.#seqOf(messageId)), eb("role", "=", "assistant")]),
        );
    }
    const rows = await q.orderBy("seq", "desc").limit(limit).execute();
    return rows.reverse().map(toMessage);
  }
}
