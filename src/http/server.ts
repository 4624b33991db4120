/**
 * The Fastify server: JSON bodies captured raw (integrations verify signatures over the
 * exact bytes), one error shape `{"detail": "…"}`, a body limit, health endpoints.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import { jsonDepthExceeds, MAX_JSON_DEPTH, nulPath } from "../lib/json-guards.ts";
import { HttpError, NOT_JSON_DETAIL } from "./errors.ts";
import { RouteMethods } from "./route-methods.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The request body exactly as received (JSON and other parsed types). */
    rawBody?: Buffer;
  }
}

/** JSON is UTF-8 (RFC 8259 §8.1): a body that is not is refused, never patched with U+FFFD. */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Options of {@link buildServer}. */
export interface ServerOptions {
  log: Logger;
  /** Largest accepted body (bytes). */
  bodyLimit: number;
  /** True once the server is shutting down: new requests get 503 `{"detail": …}`. */
  closing?: () => boolean;
  /** Time limits on slow clients (ms); Node's defaults when omitted. */
  timeouts?: ClientTimeouts;
}

/** How long a client may take, ms (Node's `requestTimeout`, `headersTimeout`, `keepAliveTimeout`). */
export interface ClientTimeouts {
  /** The whole request, headers and body; then 408 and the connection is closed. */
  requestMs: number;
  /** The request headers (capped at `requestMs`). */
  headersMs: number;
  /** An idle keep-alive connection between requests. */
  keepAliveMs: number;
}

/** How often Node looks for requests past their time limit, ms (Node's default is 30 000). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Builds the server with the parsers and error handling every route relies on.
 * Routes are added by the caller.
 */
export function buildServer(opts: ServerOptions): FastifyInstance {
  const app = Fastify({
    // Request lines are info-level noise at hundreds of turns/s; warnings and errors stay.
    loggerInstance: opts.log.child({}, { level: opts.log.level === "silent" ? "silent" : "warn" }),
    bodyLimit: opts.bodyLimit,
    // A client that sends its headers and then trickles (or stops sending) its body is cut
    // off after the request timeout instead of holding a connection, and shutdown, forever.
    // No idle-socket timeout (Fastify's connectionTimeout): it would also cut slow answers.
    ...(opts.timeouts && {
      requestTimeout: opts.timeouts.requestMs,
      keepAliveTimeout: opts.timeouts.keepAliveMs,
      http: {
        requestTimeout: opts.timeouts.requestMs,
        headersTimeout: Math.min(opts.timeouts.headersMs, opts.timeouts.requestMs),
        connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      },
    }),
    // Errors before a request exists (a timeout, oversized or malformed headers) get the one
    // error shape too.
    clientErrorHandler: answerClientError,
    // In-flight requests finish on close (their work is committed; cutting them would make
    // clients retry and duplicate it); idle keep-alive connections are closed at once.
    forceCloseConnections: "idle",
    return503OnClosing: false,
    // Errors Fastify raises before routing (a malformed or over-long URL) get the one error
    // shape too, and never echo the URL.
    frameworkErrors: (err, _req, res) => {
      const reply = res as unknown as FastifyReply;
      if (err.code === "FST_ERR_MAX_PARAM_LENGTH") {
        return reply.code(414).send({ detail: "A path segment is too long" });
      }
      return reply.code(400).send({ detail: "The URL is not valid" });
    },
  }) as unknown as FastifyInstance;

  app.addContentTypeParser(
    ["application/json", "application/*+json"],
    { parseAs: "buffer" },
    (req, body, done) => {
      const raw = body as Buffer;
      req.rawBody = raw;
      if (raw.length === 0) return done(null, undefined);
      if (jsonDepthExceeds(raw, MAX_JSON_DEPTH)) {
        return done(
          new HttpError(400, `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`),
          undefined,
        );
      }
      let text: string;
      try {
        text = STRICT_UTF8.decode(raw);
      } catch {
        return done(new HttpError(400, "Request body is not valid UTF-8"), undefined);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return done(new HttpError(400, "Request body is not valid JSON"), undefined);
      }
      // Only an escape can put a NUL in parsed JSON (a raw one is invalid JSON).
      const nul = text.includes("\\u0000") ? nulPath(value, "") : undefined;
      if (nul !== undefined) {
        const where = nul === "" ? "body" : nul;
        return done(
          new HttpError(400, `Invalid body: ${where}: must not contain NUL characters`),
          undefined,
        );
      }
      done(null, value);
    },
  );
  app.addContentTypeParser(
    ["application/x-www-form-urlencoded", "text/plain"],
    { parseAs: "buffer" },
    (req, body, done) => {
      req.rawBody = body as Buffer;
      done(null, (body as Buffer).toString("utf8"));
    },
  );

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ detail: err.message });
    const code = (err as FastifyError).code;
    if (code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply
        .code(413)
        .send({ detail: `Request body is larger than ${opts.bodyLimit} bytes` });
    }
    if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      return reply.code(415).send({ detail: NOT_JSON_DETAIL });
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send({ detail: err.message });
    }
    req.log.error({ err, url: req.url.split("?")[0] }, "request failed");
    return reply.code(500).send({ detail: "Internal server error" });
  });
  // 404 for an unknown path, 405 with Allow for a known path under another method; answered
  // in onRequest, before a body is read or parsed.
  const routeMethods = new RouteMethods();
  app.addHook("onRoute", (route) => routeMethods.add(route.url, route.method));
  const notFound = (req: FastifyRequest, reply: FastifyReply) => {
    const allow = routeMethods.allowed(req.url.split("?")[0]!);
    if (allow.length === 0) return reply.code(404).send({ detail: "Not found" });
    return reply
      .code(405)
      .header("allow", allow.join(", "))
      .send({ detail: `Method ${req.method} is not allowed here; allowed: ${allow.join(", ")}` });
  };
  // One callback-style hook for both checks (every request runs it: an async hook costs a
  // promise per request). Answering without calling `done` ends the request here.
  const closing = opts.closing;
  app.addHook("onRequest", (req, reply, done) => {
    if (closing?.()) {
      reply.header("connection", "close");
      reply.code(503).send({ detail: "Server is shutting down" });
      return;
    }
    if (req.is404) {
      notFound(req, reply);
      return;
    }
    done();
  });
  app.setNotFoundHandler(notFound);
  return app;
}

/**
 * Answers a connection-level error (Node's `clientError`: request timeout → 408, headers too
 * large → 431, anything else 400) with `{"detail": …}` and closes the connection.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, detail] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "The request did not arrive in time"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "The request headers are too large"]
        : [400, "The request is not valid HTTP"];
  const body = JSON.stringify({ detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\n` +
        `content-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/**
 * Closes the server within a bound: it stops accepting at once and closes idle
 * connections; requests still in flight after `graceMs` (a client trickling its body, a
 * handler that hangs) have their connections cut. Never throws.
 */
export async function closeServer(server: FastifyInstance, graceMs: number): Promise<void> {
  const cut = setTimeout(() => server.server.closeAllConnections(), graceMs);
  try {
    await server.close();
  } catch {
    // Closing a server that never listened: nothing to close.
  } finally {
    clearTimeout(cut);
  }
}

/**
 * Listens on `host`:`port` (port 0 picks a free one).
 * @returns the base URL, e.g. `http://127.0.0.1:8080` (an IPv6 host in brackets)
 * @throws when the address cannot be bound
 */
export async function listen(server: FastifyInstance, host: string, port: number): Promise<string> {
  await server.listen({ host, port });
  const addr = server.server.address();
  const bound = typeof addr === "object" && addr ? addr.port : port;
  return `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
}
