/** Sessions: one conversation of one bot, keyed by (bot_id, client_id). */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import { fromJson, toJson } from "./json.ts";
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

/**
 * Returns the session of (botId, clientId), creating it when absent (inside the caller's
 * transaction when given one). Safe under concurrent callers: the unique constraint
 * decides, and the loser reads the winner's row. An existing session's dispatch_config is
 * updated when one is given.
 */
export async function getOrCreateSession(
  db: Kysely<Database>,
  botId: string,
  clientId: string,
  dispatchConfig?: Record<string, unknown> | null,
): Promise<{ session: Session; created: boolean }> {
  const now = Date.now();
  const res = await db
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
    await db
      .updateTable("sessions")
      .set({ dispatch_config: toJson(dispatchConfig), updated_at: now })
      .where("bot_id", "=", botId)
      .where("client_id", "=", clientId)
      .execute();
  }
  const r = await db
    .selectFrom("sessions")
    .selectAll()
    .where("bot_id", "=", botId)
    .where("client_id", "=", clientId)
    .executeTakeFirstOrThrow();
  return { session: toSession(r), created };
}

/** The session with this id (inside the caller's transaction when given one), or undefined. */
export async function getSession(db: Kysely<Database>, id: string): Promise<Session | undefined> {
  const r = await db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirst();
  return r ? toSession(r) : undefined;
}

/**
 * Ends the session (inside the caller's transaction when given one): sets `ended_at` once,
 * by a conditional update, so of concurrent calls exactly one reports `ended: true`.
 * @returns the session and whether this call ended it, or undefined when unknown
 */
export async function endSession(
  db: Kysely<Database>,
  id: string,
): Promise<{ session: Session; ended: boolean } | undefined> {
  const now = Date.now();
  const r = await db
    .updateTable("sessions")
    .set({ ended_at: now, updated_at: now })
    .where("id", "=", id)
    .where("ended_at", "is", null)
    .executeTakeFirst();
  const session = await getSession(db, id);
  return session ? { session, ended: Number(r.numUpdatedRows) > 0 } : undefined;
}

/** Session repository (the functions above over the store's database). */
export class SessionRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The session with this id, or undefined. */
  get(id: string): Promise<Session | undefined> {
    return getSession(this.#db, id);
  }

  /** See {@link endSession}. */
  end(id: string): Promise<{ session: Session; ended: boolean } | undefined> {
    return endSession(this.#db, id);
  }

  /** See {@link getOrCreateSession}. */
  getOrCreate(
    botId: string,
    clientId: string,
    dispatchConfig?: Record<string, unknown> | null,
  ): Promise<{ session: Session; created: boolean }> {
    return getOrCreateSession(this.#db, botId, clientId, dispatchConfig);
  }
}
