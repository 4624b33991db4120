/** Sessions: one conversation of one bot, keyed by (bot_id, client_id). */
import { type Kysely, sql } from "kysely";
import { uuidv7 } from "../ids.ts";
import { compiledQuery, type QueryHandle } from "./compiled.ts";
import { fromJson, toJson } from "./json.ts";
import { olderThan, type PageRequest, startsWith } from "./keyset.ts";
import type { Database, SessionsTable } from "./schema.ts";

/** A session as the code sees it. */
export interface Session {
  id: string;
  botId: string;
  clientId: string;
  /** Where results of this session's tasks go by default: `{type, ...}` or null. */
  dispatchConfig: Record<string, unknown> | null;
  createdAt: number;
  updatedAt: number;
  /** When it was ended (POST /sessions/{id}/end), else null. */
  endedAt: number | null;
}

function toSession(r: SessionsTable): Session {
  return {
    id: r.id,
    botId: r.bot_id,
    clientId: r.client_id,
    dispatchConfig: fromJson(r.dispatch_config, null),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    endedAt: r.ended_at == null ? null : Number(r.ended_at),
  };
}

/** What {@link SessionRepository.list} selects; every field narrows. */
export interface SessionFilter extends PageRequest {
  botId?: string;
  /** client_id starts with this (exact case). */
  clientIdPrefix?: string;
  /** open: not ended; ended: ended. */
  state?: "open" | "ended";
}

// Read for every inbound message: compiled once (./compiled.ts).
const selectById = compiledQuery<{ id: string }, SessionsTable>((db, p) =>
  db.selectFrom("sessions").selectAll().where("id", "=", p.id),
);

/** `latestOpen`: `client_id` is the key or starts with `<key>#` (`prefixLength` characters). */
const selectLatestOpen = compiledQuery<
  { botId: string; clientId: string; prefix: string; prefixLength: number },
  SessionsTable
>((db, p) =>
  db
    .selectFrom("sessions")
    .selectAll()
    .where("bot_id", "=", p.botId)
    .where((eb) =>
      eb.or([
        eb("client_id", "=", p.clientId),
        sql<boolean>`substr(${sql.ref("client_id")}, 1, ${p.prefixLength}) = ${p.prefix}`,
      ]),
    )
    .where("ended_at", "is", null)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    // A literal: with `limit ?` SQLite cannot plan the sort as a top-1 (5× the CPU).
    .limit(sql.lit(1)),
);

/** Sessions. */
export class SessionRepository {
  readonly #db: Kysely<Database>;
  readonly #q: QueryHandle;
  constructor(q: QueryHandle) {
    this.#db = q.kysely;
    this.#q = q;
  }

  /** The session with this id, or undefined. */
  async get(id: string): Promise<Session | undefined> {
    const [r] = await selectById.rows(this.#q, { id });
    return r ? toSession(r) : undefined;
  }

  /** Sessions matching `f`, newest first by (created_at, id), at most `f.limit`. */
  async list(f: SessionFilter): Promise<Session[]> {
    let q = this.#db.selectFrom("sessions").selectAll();
    if (f.botId !== undefined) q = q.where("bot_id", "=", f.botId);
    if (f.clientIdPrefix !== undefined) q = q.where(startsWith("client_id", f.clientIdPrefix));
    if (f.state === "open") q = q.where("ended_at", "is", null);
    if (f.state === "ended") q = q.where("ended_at", "is not", null);
    if (f.since !== undefined) q = q.where("created_at", ">=", f.since);
    const after = f.after;
    if (after) q = q.where((eb) => olderThan(eb, after));
    const rows = await q
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(f.limit)
      .execute();
    return rows.map(toSession);
  }

  /**
   * Returns the session of (botId, clientId), creating it when absent. Safe under
   * concurrent callers: the unique constraint decides, and the loser reads the winner's
   * row. An existing session's dispatch_config is updated when one is given.
   */
  async getOrCreate(
    botId: string,
    clientId: string,
    dispatchConfig?: Record<string, unknown> | null,
  ): Promise<{ session: Session; created: boolean }> {
    const now = Date.now();
    const res = await this.#db
      .insertInto("sessions")
      .values({
        id: uuidv7(),
        bot_id: botId,
        client_id: clientId,
        dispatch_config: toJson(dispatchConfig),
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(["bot_id", "client_id"]).doNothing())
      .executeTakeFirst();
    const created = Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
    if (!created && dispatchConfig) {
      await this.#db
        .updateTable("sessions")
        .set({ dispatch_config: toJson(dispatchConfig), updated_at: now })
        .where("bot_id", "=", botId)
        .where("client_id", "=", clientId)
        .execute();
    }
    const r = await this.#db
      .selectFrom("sessions")
      .selectAll()
      .where("bot_id", "=", botId)
      .where("client_id", "=", clientId)
      .executeTakeFirstOrThrow();
    return { session: toSession(r), created };
  }

  /**
   * The newest open session of a conversation: client_id `clientId` itself, or one of its
   * later generations `clientId#<n>` (a conversation's `/new` starts one).
   */
  async latestOpen(botId: string, clientId: string): Promise<Session | undefined> {
    const prefix = `${clientId}#`;
    const [r] = await selectLatestOpen.rows(this.#q, {
      botId,
      clientId,
      prefix,
      prefixLength: prefix.length,
    });
    return r ? toSession(r) : undefined;
  }

  /** How many sessions a conversation has had (`clientId` and its `#<n>` generations). */
  async generations(botId: string, clientId: string): Promise<number> {
    const r = await this.#db
      .selectFrom("sessions")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("bot_id", "=", botId)
      .where((eb) =>
        eb.or([eb("client_id", "=", clientId), startsWith("client_id", `${clientId}#`)]),
      )
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * Ends the session: sets `ended_at` once, by a conditional update, so of concurrent calls
   * exactly one reports `ended: true`.
   * @returns the session and whether this call ended it, or undefined when unknown
   */
  async end(id: string): Promise<{ session: Session; ended: boolean } | undefined> {
    const now = Date.now();
    const r = await this.#db
      .updateTable("sessions")
      .set({ ended_at: now, updated_at: now })
      .where("id", "=", id)
      .where("ended_at", "is", null)
      .executeTakeFirst();
    const session = await this.get(id);
    return session ? { session, ended: Number(r.numUpdatedRows) > 0 } : undefined;
  }
}
