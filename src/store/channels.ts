/** Channels: outside conversations bound to a bot (DESIGN §3), keyed by client_id. */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import { compiledQuery, type QueryHandle } from "./compiled.ts";
import { olderThan, type PageRequest } from "./keyset.ts";
import type { ChannelsTable, Database } from "./schema.ts";

/** A channel as the code sees it. */
export interface Channel {
  id: string;
  clientId: string;
  integration: string;
  team: string | null;
  channel: string;
  botId: string;
  activeSessionId: string | null;
  /** null: decided by the conversation's kind (group: true, direct message: false). */
  requireMention: boolean | null;
  passiveMemory: boolean;
  createdAt: number;
  updatedAt: number;
}

/** What a new channel holds. */
export interface NewChannel {
  clientId: string;
  integration: string;
  team: string | null;
  channel: string;
  botId: string;
  requireMention: boolean | null;
  passiveMemory: boolean;
}

/** The fields an update may change. */
export type ChannelPatch = Partial<Pick<NewChannel, "botId" | "requireMention" | "passiveMemory">>;

function toChannel(r: ChannelsTable): Channel {
  return {
    id: r.id,
    clientId: r.client_id,
    integration: r.integration,
    team: r.team,
    channel: r.channel,
    botId: r.bot_id,
    activeSessionId: r.active_session_id,
    requireMention: r.require_mention == null ? null : Number(r.require_mention) === 1,
    passiveMemory: Number(r.passive_memory) === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

const flag = (b: boolean | null) => (b == null ? null : b ? 1 : 0);

/** Read for every inbound message: compiled once (./compiled.ts). */
const selectByClientId = compiledQuery<{ clientId: string }, ChannelsTable>((db, p) =>
  db.selectFrom("channels").selectAll().where("client_id", "=", p.clientId),
);

/** Channels. */
export class ChannelRepository {
  readonly #db: Kysely<Database>;
  readonly #q: QueryHandle;
  constructor(q: QueryHandle) {
    this.#db = q.kysely;
    this.#q = q;
  }

  /** The channel with this id, or undefined. */
  async get(id: string): Promise<Channel | undefined> {
    const r = await this.#db
      .selectFrom("channels")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return r ? toChannel(r) : undefined;
  }

  /** The channel of a conversation key, or undefined. */
  async byClientId(clientId: string): Promise<Channel | undefined> {
    const [r] = await selectByClientId.rows(this.#q, { clientId });
    return r ? toChannel(r) : undefined;
  }

  /** Channels newest first by (created_at, id), optionally of one integration. */
  async list(f: PageRequest & { integration?: string }): Promise<Channel[]> {
    let q = this.#db.selectFrom("channels").selectAll();
    if (f.integration !== undefined) q = q.where("integration", "=", f.integration);
    if (f.since !== undefined) q = q.where("created_at", ">=", f.since);
    const after = f.after;
    if (after) q = q.where((eb) => olderThan(eb, after));
    const rows = await q
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(f.limit)
      .execute();
    return rows.map(toChannel);
  }

  /**
   * Inserts a channel.
   * @returns the channel, or undefined when its client_id is taken (nothing written)
   */
  async insert(c: NewChannel): Promise<Channel | undefined> {
    const now = Date.now();
    const id = uuidv7();
    const res = await this.#db
      .insertInto("channels")
      .values({
        id,
        client_id: c.clientId,
        integration: c.integration,
        team: c.team,
        channel: c.channel,
        bot_id: c.botId,
        active_session_id: null,
        require_mention: flag(c.requireMention),
        passive_memory: c.passiveMemory ? 1 : 0,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column("client_id").doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
    return this.get(id);
  }

  /** Changes the given fields. @returns the channel, or undefined when unknown */
  async update(id: string, p: ChannelPatch): Promise<Channel | undefined> {
    const set: Partial<ChannelsTable> = { updated_at: Date.now() };
    if (p.botId !== undefined) set.bot_id = p.botId;
    if (p.requireMention !== undefined) set.require_mention = flag(p.requireMention);
    if (p.passiveMemory !== undefined) set.passive_memory = p.passiveMemory ? 1 : 0;
    await this.#db.updateTable("channels").set(set).where("id", "=", id).execute();
    return this.get(id);
  }

  /** Records the conversation's current session. */
  async setActiveSession(id: string, sessionId: string): Promise<void> {
    await this.#db
      .updateTable("channels")
      .set({ active_session_id: sessionId, updated_at: Date.now() })
      .where("id", "=", id)
      .execute();
  }

  /** Deletes it. @returns false when unknown */
  async delete(id: string): Promise<boolean> {
    const r = await this.#db.deleteFrom("channels").where("id", "=", id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
