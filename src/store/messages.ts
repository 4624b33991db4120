/** Messages of a session. */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import { fromJson } from "./json.ts";
import type { Database, MessagesTable } from "./schema.ts";

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
  createdAt: number;
}

/** What {@link MessageRepository.insert} needs. */
export interface NewMessage {
  sessionId: string;
  role: MessageRole;
  content: string;
  metadata?: Record<string, unknown>;
}

function toMessage(r: MessagesTable): Message {
  return {
    id: r.id,
    sessionId: r.session_id,
    role: r.role as MessageRole,
    content: r.content,
    metadata: fromJson(r.metadata, {}),
    createdAt: r.created_at,
  };
}

/** Messages of sessions. */
export class MessageRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Inserts a message; returns it. */
  async insert(m: NewMessage): Promise<Message> {
    const row: MessagesTable = {
      id: uuidv7(),
      session_id: m.sessionId,
      role: m.role,
      content: m.content,
      metadata: JSON.stringify(m.metadata ?? {}),
      created_at: Date.now(),
    };
    await this.#db.insertInto("messages").values(row).execute();
    return toMessage(row);
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
   * @param beforeId only messages older than this id (exclusive), when given
   */
  async listRecent(sessionId: string, limit: number, beforeId?: string): Promise<Message[]> {
    let q = this.#db.selectFrom("messages").selectAll().where("session_id", "=", sessionId);
    if (beforeId) q = q.where("id", "<", beforeId);
    const rows = await q.orderBy("id", "desc").limit(limit).execute();
    return rows.reverse().map(toMessage);
  }

  /** Messages of a session after `afterId` (exclusive; all when absent), oldest first, at most `limit`. */
  async listAfter(
    sessionId: string,
    afterId: string | undefined,
    limit: number,
  ): Promise<Message[]> {
    let q = this.#db.selectFrom("messages").selectAll().where("session_id", "=", sessionId);
    if (afterId) q = q.where("id", ">", afterId);
    const rows = await q.orderBy("id", "asc").limit(limit).execute();
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
        .where((eb) => eb.or([eb("id", "<", messageId), eb("role", "=", "assistant")]));
    }
    const rows = await q.orderBy("id", "desc").limit(limit).execute();
    return rows.reverse().map(toMessage);
  }
}
