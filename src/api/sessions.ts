/** `/api/v1/sessions…`: create sessions, inject messages, read history. */
import { createHash } from "node:crypto";
import { z } from "zod";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import {
  DedupeKeyReusedError,
  InvalidDispatchConfigError,
  InvalidInputError,
  SessionNotFoundError,
  UnknownBotError,
} from "../sessions/errors.ts";
import { dispatchConfigSchema, executionConfigSchema } from "../sessions/schemas.ts";
import type { InjectOptions, SessionService } from "../sessions/service.ts";
import type { Store } from "../store/index.ts";
import { MESSAGE_ROLES, type Message } from "../store/messages.ts";
import { sessionJson } from "./session-list.ts";

const idParams = z.object({ id: z.string().min(1) });
/** Any object here; the session service checks it against the schema of its type. */
const dispatchConfig = dispatchConfigSchema.nullable().optional();

/** The body of `POST /api/v1/sessions` (also the MCP tool `session_open`'s input). */
export const createSessionBody = z.strictObject({
  bot_id: z.string().min(1).default("default"),
  client_id: z.string().min(1).max(512),
  dispatch_config: dispatchConfig,
});

/** The body of `POST /sessions/{id}/messages` (also the MCP tool `session_send_message`'s input). */
export const postMessageBody = z.strictObject({
  content: z.string().min(1, "must not be empty"),
  role: z.enum(MESSAGE_ROLES).default("user"),
  source: z.string().max(100).optional(),
  run_agent: z.boolean().default(false),
  notify: z.boolean().default(true),
  execution_config: executionConfigSchema.nullable().optional(),
  dispatch_config: dispatchConfig,
  dispatch_type: z.string().min(1).optional(),
  max_run_seconds: z.number().int().positive().max(2_147_483).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** Ids of attachments uploaded to this session (`POST /sessions/{id}/attachments`). */
  attachments: z.array(z.string().min(1).max(100)).max(20).optional(),
});

/** The query of `GET /sessions/{id}/messages` (also the MCP tool `session_messages`'s input). */
/**
 * The session service's options for a posted message's body (REST and the MCP tool
 * `session_send_message` both use it, so a new field is added once).
 */
export function injectOptionsOf(body: z.infer<typeof postMessageBody>): InjectOptions {
  return {
    content: body.content,
    role: body.role,
    source: body.source,
    metadata: body.metadata,
    runAgent: body.run_agent,
    notify: body.notify,
    executionConfig: body.execution_config ?? null,
    dispatchConfig: body.dispatch_config ?? null,
    dispatchType: body.dispatch_type,
    maxRunSeconds: body.max_run_seconds,
    ...(body.attachments?.length ? { attachments: body.attachments } : {}),
  };
}

export const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) });

/** The wire shape of a message. */
export function messageJson(m: Message) {
  return {
    id: m.id,
    role: m.role,
    content: m.content,
    metadata: m.metadata,
    created_at: new Date(m.createdAt).toISOString(),
  };
}

/**
 * Maps the session service's errors to HTTP: UnknownBotError → 422 "Unknown bot: <id>" (well-formed, refused on meaning),
 * SessionNotFoundError → 404 "Session not found"; anything else is rethrown.
 */
function httpError(err: unknown): never {
  if (err instanceof UnknownBotError) throw new HttpError(422, `Unknown bot: ${err.botId}`);
  if (err instanceof InvalidDispatchConfigError) throw new HttpError(422, err.message);
  if (err instanceof InvalidInputError) {
    throw new HttpError(400, `Invalid body: ${err.field}: ${err.problem}`);
  }
  if (err instanceof SessionNotFoundError) throw notFound("Session");
  if (err instanceof DedupeKeyReusedError) {
    throw new HttpError(
      422,
      "Idempotency-Key was already used in this session with a different body; send a new key for a new message",
    );
  }
  throw err;
}

/** Longest Idempotency-Key (characters). */
export const MAX_IDEMPOTENCY_KEY = 255;

const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

/**
 * The Idempotency-Key header of a request, or undefined when absent.
 * @throws HttpError 400 unless it is 1–255 printable ASCII characters
 */
function idempotencyKey(headers: Record<string, string | string[] | undefined>) {
  const v = headers["idempotency-key"];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !IDEMPOTENCY_KEY.test(v)) {
    throw new HttpError(
      400,
      `Invalid Idempotency-Key header: 1–${MAX_IDEMPOTENCY_KEY} printable ASCII characters`,
    );
  }
  return v;
}

/** JSON with object keys sorted, so equal bodies give equal text whatever their key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** What sessionsApi needs. */
export interface SessionsApiOptions {
  store: Store;
  sessions: SessionService;
}

/**
 * Registers the session routes. Creating, ending and injecting go through `sessions`
 * (which writes their events); reads use the store.
 */
export const sessionsApi = apiPlugin<SessionsApiOptions>((routes, { store, sessions }) => {
  routes.add({
    method: "POST",
    url: "/api/v1/sessions",
    summary: "Get or create the session of (bot_id, client_id)",
    scope: "sessions:write",
    body: createSessionBody,
    status: 201,
    async handler({ body }) {
      const { session, created } = await sessions
        .getOrCreate(body.bot_id, body.client_id, body.dispatch_config)
        .catch(httpError);
      return { session_id: session.id, created };
    },
  });

  routes.add({
    method: "GET",
    url: "/api/v1/sessions/:id",
    summary: "A session",
    scope: "sessions:read",
    params: idParams,
    async handler({ params }) {
      const s = await store.sessions.get(params.id);
      if (!s) throw notFound("Session");
      return sessionJson(s);
    },
  });

  routes.add({
    method: "POST",
    url: "/api/v1/sessions/:id/end",
    summary: "End a session (emits session.end once; calling it again answers the same)",
    scope: "sessions:write",
    params: idParams,
    async handler({ params }) {
      const r = await sessions.end(params.id).catch(httpError);
      return {
        session_id: r.session.id,
        ended_at: new Date(r.session.endedAt ?? r.session.updatedAt).toISOString(),
      };
    },
  });

  routes.add({
    method: "POST",
    url: "/api/v1/sessions/:id/messages",
    summary: "Add a message to a session; with run_agent, queue an agent turn",
    scope: "sessions:write",
    params: idParams,
    body: postMessageBody,
    status: 201,
    headers: [
      {
        name: "Idempotency-Key",
        description:
          "Makes a retry safe: a repeat with the same key and body (per session and API key, kept 7 days) gets the first answer again and creates nothing; the same key with another body gets 422.",
        schema: {
          type: "string",
          minLength: 1,
          maxLength: MAX_IDEMPOTENCY_KEY,
          pattern: "^[ -~]+$",
        },
      },
    ],
    responses: {
      422: "Idempotency-Key reused with a different body, or a refused dispatch destination",
    },
    async handler({ params, body, req, apiKey }, reply) {
      const key = idempotencyKey(req.headers);
      const r = await sessions
        .injectMessage(params.id, {
          ...injectOptionsOf(body),
          // Through the same receipts as provider delivery ids, scoped per API key and session.
          ...(key === undefined
            ? {}
            : {
                dedupeKey: key,
                dedupeScope: `idempotency-key:${apiKey?.id ?? ""}:${params.id}`,
                dedupeFingerprint: createHash("sha256").update(canonicalJson(body)).digest("hex"),
              }),
        })
        .catch(httpError);
      if (r.duplicate) reply.header("idempotent-replayed", "true");
      return { message_id: r.messageId, session_id: r.sessionId, task_id: r.taskId };
    },
  });

  routes.add({
    method: "GET",
    url: "/api/v1/sessions/:id/messages",
    summary: "The newest messages of a session, oldest first",
    scope: "sessions:read",
    params: idParams,
    query: listQuery,
    async handler({ params, query }) {
      if (!(await store.sessions.get(params.id))) throw notFound("Session");
      const list = await store.messages.listRecent(params.id, query.limit);
      return list.map(messageJson);
    },
  });
});
