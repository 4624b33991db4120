/**
 * The wake-up channel between instances on one database (issue 14): PostgreSQL
 * `LISTEN`/`NOTIFY` on one channel, read on a dedicated connection that reconnects. On
 * SQLite (one process) there is nobody else to tell: the channel sends nothing and only
 * says it is up, and the instance's own in-process pokes do the waking.
 *
 * Sends are `SELECT pg_notify(…)` on the pool, issued after the caller's commit, so a peer
 * that reads the payload finds the committed rows. Nothing here is durable: a payload sent
 * while a listener is disconnected is lost to it, which is why the listener reports `up`
 * after every (re)connect and its owner then looks for work once, and why polling stays.
 */
import { sql } from "kysely";
import type pg from "pg";
import type { Db } from "./db.ts";

/** The PostgreSQL notification channel every instance listens on. */
export const WAKE_CHANNEL = "switchyard_wakeup";

/** Longest payload PostgreSQL accepts on a NOTIFY (bytes, exclusive). */
const MAX_PAYLOAD_BYTES = 8000;

/** What a {@link WakeChannel} tells its owner. */
export interface WakeChannelHandlers {
  /** A payload sent by any instance (this one's included) arrived. */
  message(payload: string): void;
  /** Listening (the first connect or a reconnect): payloads sent while down were missed. */
  up(): void;
  /** The listening connection failed or ended; a reconnect is scheduled. */
  down(err: Error): void;
}

/** Options of {@link openWakeChannel}. Times in ms. */
export interface WakeChannelOptions {
  /** First delay before a reconnect, doubling up to `maxReconnectMs` (default 250). */
  reconnectMs?: number;
  /** Longest delay between reconnect attempts (default 5000). */
  maxReconnectMs?: number;
  /**
   * How often the idle listening connection is checked with a one-row query (default
   * 30 000), so a connection that died silently is noticed and replaced.
   */
  pingMs?: number;
  /** `application_name` of the listening connection (shown in `pg_stat_activity`). */
  applicationName?: string;
}

/** A channel: send to every listener, and listen. */
export interface WakeChannel {
  /** `postgres` when other instances can hear it; `local` on SQLite. */
  readonly scope: "postgres" | "local";
  /**
   * Sends `payload` (under 8000 bytes) to every listener; resolves when the database took it.
   * @throws Error when the database is unreachable (the caller logs it; polling covers)
   */
  send(payload: string): Promise<void>;
  /** Starts listening; handlers are called until {@link stop}. */
  start(handlers: WakeChannelHandlers): void;
  /** Stops listening and closes the listening connection; idempotent. */
  stop(): Promise<void>;
}

/** Opens the wake-up channel of a database (see the module comment). */
export function openWakeChannel(db: Db, opts: WakeChannelOptions = {}): WakeChannel {
  if (db.dialect === "postgres" && db.newClient) return new PgWakeChannel(db, opts);
  return new LocalWakeChannel();
}

class LocalWakeChannel implements WakeChannel {
  readonly scope = "local" as const;
  async send(): Promise<void> {}
  start(handlers: WakeChannelHandlers): void {
    handlers.up();
  }
  async stop(): Promise<void> {}
}

class PgWakeChannel implements WakeChannel {
  readonly scope = "postgres" as const;
  readonly #db: Db;
  readonly #reconnectMs: number;
  readonly #maxReconnectMs: number;
  readonly #pingMs: number;
  readonly #appName: string | undefined;
  #handlers: WakeChannelHandlers | undefined;
  #client: pg.Client | undefined;
  #stopped = true;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #connecting: Promise<void> = Promise.resolve();

  constructor(db: Db, opts: WakeChannelOptions) {
    this.#db = db;
    this.#reconnectMs = opts.reconnectMs ?? 250;
    this.#maxReconnectMs = opts.maxReconnectMs ?? 5000;
    this.#pingMs = opts.pingMs ?? 30_000;
    this.#appName = opts.applicationName;
  }

  async send(payload: string): Promise<void> {
    if (Buffer.byteLength(payload) >= MAX_PAYLOAD_BYTES) {
      throw new Error(`wake-up payload too long (${Buffer.byteLength(payload)} bytes)`);
    }
    await sql`select pg_notify(${WAKE_CHANNEL}, ${payload})`.execute(this.#db.kysely);
  }

  start(handlers: WakeChannelHandlers): void {
    this.#handlers = handlers;
    this.#stopped = false;
    this.#connecting = this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    await this.#connecting;
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = this.#db.newClient!(this.#appName);
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      this.#lost(client, err);
    };
    client.on("error", fail);
    client.on("end", () => fail(new Error("listening connection ended")));
    client.on("notification", (n) => {
      if (n.channel === WAKE_CHANNEL && n.payload !== undefined && !this.#stopped) {
        this.#handlers?.message(n.payload);
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
    } catch (err) {
      fail(err as Error);
      return;
    }
    if (this.#stopped || failed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#failures = 0;
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      client.query("SELECT 1").catch((err: Error) => fail(err));
    }, this.#pingMs);
    this.#pingTimer.unref();
    this.#handlers?.up();
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#client === client) this.#client = undefined;
    clearInterval(this.#pingTimer);
    client.end().catch(() => {});
    if (this.#stopped) return;
    this.#handlers?.down(err);
    const delay = Math.min(this.#maxReconnectMs, this.#reconnectMs * 2 ** this.#failures++);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      if (!this.#stopped) this.#connecting = this.#connect();
    }, delay);
    this.#retryTimer.unref();
  }
}
