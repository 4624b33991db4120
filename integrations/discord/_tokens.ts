/**
 * Interaction tokens, in memory only. A token is a temporary capability: it lets whoever
 * holds it answer one interaction for 15 minutes
 * (https://discord.com/developers/docs/interactions/receiving-and-responding#followup-messages),
 * so DESIGN §7 keeps it out of the database, the handler input, logs and the transcript.
 * A restart forgets every token; replies then go to the channel with the bot token.
 */

/** How long Discord accepts an interaction token, ms. */
export const TOKEN_LIFETIME_MS = 15 * 60_000;

/** A token is not used this close to its end (ms): a reply sent then could fail mid-way. */
const EXPIRY_MARGIN_MS = 30_000;

/** Most tokens kept at once; the oldest go first beyond it. */
const MAX_TOKENS = 10_000;

interface Entry {
  token: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/** The live interaction tokens of this process, by interaction id. */
export class InteractionTokens {
  readonly #now: () => number;
  readonly #byId = new Map<string, Entry>();
  /** task id → interaction id, for progress (which knows only its task). */
  readonly #byTask = new Map<string, string>();
  /** conversation key → the `/new` interaction whose deferred answer awaits the notice. */
  readonly #newByConversation = new Map<string, string>();

  /** @param now the clock, ms since the epoch (tests pass their own) */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Keeps `token` of interaction `id` for {@link TOKEN_LIFETIME_MS} from now.
   * @returns false when `id` was already kept (the first token stays)
   */
  remember(id: string, token: string): boolean {
    this.#prune();
    if (this.#byId.has(id)) return false;
    this.#byId.set(id, { token, expiresAt: this.#now() + TOKEN_LIFETIME_MS });
    if (this.#byId.size > MAX_TOKENS) this.forget(this.#byId.keys().next().value!);
    return true;
  }

  /** Notes that task `taskId` answers interaction `id`. */
  linkTask(taskId: string, id: string): void {
    if (this.#byId.has(id)) this.#byTask.set(taskId, id);
  }

  /** Notes that the notice after `/new` in conversation `key` answers interaction `id`. */
  awaitNotice(key: string, id: string): void {
    if (this.#byId.has(id)) this.#newByConversation.set(key, id);
  }

  /** The usable token of interaction `id`, or undefined (unknown, expired, or forgotten). */
  token(id: string | undefined): string | undefined {
    if (id === undefined) return undefined;
    const e = this.#byId.get(id);
    if (!e) return undefined;
    if (this.#now() >= e.expiresAt - EXPIRY_MARGIN_MS) {
      this.forget(id);
      return undefined;
    }
    return e.token;
  }

  /** The interaction task `taskId` answers, while its token is usable. */
  interactionOfTask(taskId: string | undefined): string | undefined {
    const id = taskId === undefined ? undefined : this.#byTask.get(taskId);
    return this.token(id) ? id : undefined;
  }

  /** The `/new` interaction of conversation `key` awaiting its notice, while its token is usable. */
  noticeInteraction(key: string): string | undefined {
    const id = this.#newByConversation.get(key);
    return this.token(id) ? id : undefined;
  }

  /** Forgets interaction `id` (its token was refused, or the handler failed). */
  forget(id: string): void {
    this.#byId.delete(id);
    for (const [k, v] of this.#byTask) if (v === id) this.#byTask.delete(k);
    for (const [k, v] of this.#newByConversation) if (v === id) this.#newByConversation.delete(k);
  }

  /** Forgets everything (on stop). */
  clear(): void {
    this.#byId.clear();
    this.#byTask.clear();
    this.#newByConversation.clear();
  }

  /** Drops expired tokens (oldest first: the map keeps insertion order). */
  #prune(): void {
    const now = this.#now();
    for (const [id, e] of this.#byId) {
      if (e.expiresAt > now) break;
      this.forget(id);
    }
  }
}
