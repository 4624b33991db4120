/** The run-time context every integration module receives (`ctx`). */
import type { FastifyReply, FastifyRequest } from "fastify";
import type {
  DocumentInput,
  DocumentRecord,
  DocumentSearchQuery,
  DocumentSearchResult,
} from "./documents.ts";
import type { IntegrationErrors } from "./errors.ts";
import type { ExecutionConfig } from "./execution.ts";
import type { IntegrationHttp, IntegrationSign } from "./http.ts";
import type { IntegrationLogger } from "./logger.ts";
import type { Scope } from "./scopes.ts";
import type { IntegrationVerify } from "./verify.ts";

/** Options of {@link IntegrationContext.injectMessage}. */
export interface InjectMessageOptions {
  role?: "user" | "assistant" | "system";
  /** Stored as metadata.source; default the integration's name. */
  source?: string;
  metadata?: Record<string, unknown>;
  /** Queue an agent turn on the message (default false). */
  runAgent?: boolean;
  executionConfig?: ExecutionConfig;
  /** Where the result goes: `{type: "<dispatcher>", ...config}`; default the session's. */
  dispatch?: Record<string, unknown> & { type: string };
  /** Per-task limit (s). */
  maxRunSeconds?: number;
  /**
   * The provider's delivery id (a webhook delivery header, an event or update id), recorded with the
   * message in one transaction: a redelivery with the same key stores nothing and comes
   * back with `duplicate: true` (also when copies race, and across restarts; kept 7 days).
   */
  dedupeKey?: string;
}

/** What {@link IntegrationContext.injectMessage} created. */
export interface InjectMessageResult {
  messageId: string;
  sessionId: string;
  taskId: string | null;
  /** True when `dedupeKey` was seen before: nothing was stored; ids are the first's. */
  duplicate: boolean;
}

/**
 * A small durable key → JSON value store of one integration (`ctx.state`), shared by every
 * instance on the database: cursors, offsets, small bookkeeping. Last write wins.
 */
export interface IntegrationState {
  /** The value stored under `key`, or undefined when none is. */
  get(key: string): Promise<unknown | undefined>;
  /**
   * Stores `value` (any JSON value; `undefined` deletes) under `key`.
   * @throws InvalidStateError (`name === "InvalidStateError"`) for an empty key or one
   *   over 200 characters, a value JSON cannot write, or one over 64 KiB as JSON
   */
  set(key: string, value: unknown): Promise<void>;
}

/** Options of {@link IntegrationContext.exclusive}. */
export interface ExclusiveOptions {
  /** Aborting it stops waiting for the lease, aborts `run`'s signal and releases the lease. */
  signal: AbortSignal;
  /**
   * The lease's length, ms (default the server's, 30 000): a holder that dies blocks the
   * others at most this long. Renewed every ttl/3; a waiting instance tries every ttl/2.
   */
  ttlMs?: number;
}

/** What every integration module receives at run time. */
export interface IntegrationContext<
  S extends Record<string, unknown> = Record<string, string | undefined>,
> {
  /** The integration's folder name (its id). */
  name: string;
  /** Its settings, resolved database → environment → default (see `config.ts`). */
  settings: S;
  log: IntegrationLogger;
  /** The server's one outbound HTTP client. */
  http: IntegrationHttp;
  /** Signature checks over raw request bytes (HMAC, Standard Webhooks, Ed25519). */
  verify: IntegrationVerify;
  /** Signing of outbound requests (Standard Webhooks). */
  sign: IntegrationSign;
  /** The delivery error class and classification, for dispatchers and adapters. */
  errors: IntegrationErrors;
  /**
   * The session of (bot, client_id), created when absent (emitting `session.start`).
   * @throws UnknownBotError (`name === "UnknownBotError"`, `botId`) when the bot does not exist
   * @throws InvalidInputError (`name === "InvalidInputError"`, `field`, `problem`) when
   *   `clientId` is one REST refuses (not a string, empty, too long, NUL characters)
   */
  getOrCreateSession(
    clientId: string,
    opts?: { botId?: string; dispatchConfig?: Record<string, unknown> },
  ): Promise<{ sessionId: string; created: boolean }>;
  /**
   * Stores a message (and, with runAgent, its task) in one transaction; the one inject path.
   * @throws SessionNotFoundError (`name === "SessionNotFoundError"`) when the session does not exist
   * @throws InvalidInputError (`name === "InvalidInputError"`, `field`, `problem`) when the
   *   content, role or metadata is one `POST /sessions/{id}/messages` refuses
   * @throws InvalidDispatchConfigError (`name === "InvalidDispatchConfigError"`) when the
   *   dispatcher of `dispatch` refuses its config (e.g. a webhook URL the SSRF guard refuses)
   */
  injectMessage(
    sessionId: string,
    content: string,
    opts?: InjectMessageOptions,
  ): Promise<InjectMessageResult>;
  /**
   * Stores a document, chunked and indexed (and embedded when an embedding model is set);
   * searchable when this resolves. `integrationId` defaults to this integration's name.
   * @throws when the embedding model fails (nothing is stored)
   */
  ingestDocument(doc: DocumentInput): Promise<DocumentRecord>;
  /** Searches documents (all of them unless filtered); `mode` says lexical or hybrid. */
  searchDocuments(query: DocumentSearchQuery): Promise<DocumentSearchResult>;
  /**
   * A Fastify hook (onRequest or preHandler) that demands the server's API key with `scope`
   * (401/403 otherwise), for routes that do not verify their caller themselves.
   */
  requireApiKey(scope: Scope): (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** This integration's small durable key → JSON value store (see {@link IntegrationState}). */
  state: IntegrationState;
  /**
   * Runs `run(signal)` on at most one instance at a time, among every server sharing the
   * database: a lease row named `<integration>/<name>` is taken atomically (when free,
   * expired, or this run's), renewed every ttl/3, and released when `run` settles. While
   * another instance holds it, this one tries again every ttl/2 until `opts.signal` aborts.
   * `signal` aborts when the lease is lost (a renewal failed or found it taken, or none
   * succeeded for a whole ttl) or `opts.signal` aborts: `run` must then stop promptly; if
   * the lease was lost, the call goes back to waiting for it.
   *
   * Resolves when `run` resolved on its own while holding the lease, or once `opts.signal`
   * aborted and `run` settled. Long-lived work (a poller) runs until its signal aborts.
   * @throws what `run` threw while holding the lease (after releasing it)
   */
  exclusive(
    name: string,
    run: (signal: AbortSignal) => Promise<void>,
    opts: ExclusiveOptions,
  ): Promise<void>;
}
