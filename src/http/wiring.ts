/**
 * Builds the server's Fastify instance from the settings: the body limit
 * (`SWITCHYARD_MAX_BODY_BYTES`) and the slow-client time limits
 * (`SWITCHYARD_REQUEST_TIMEOUT_SECONDS`, `…_HEADERS_…`, `…_KEEP_ALIVE_…`). app.ts calls
 * this and mounts the routes.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import { buildServer } from "./server.ts";

/**
 * The HTTP server, no routes yet.
 * @param closing true once the server is shutting down (new requests then get 503)
 */
export function createHttpServer(w: {
  config: Pick<
    Config,
    | "SWITCHYARD_MAX_BODY_BYTES"
    | "SWITCHYARD_REQUEST_TIMEOUT_SECONDS"
    | "SWITCHYARD_HEADERS_TIMEOUT_SECONDS"
    | "SWITCHYARD_KEEP_ALIVE_TIMEOUT_SECONDS"
  >;
  log: Logger;
  closing: () => boolean;
}): FastifyInstance {
  const { config } = w;
  return buildServer({
    log: w.log,
    bodyLimit: config.SWITCHYARD_MAX_BODY_BYTES,
    closing: w.closing,
    timeouts: {
      requestMs: config.SWITCHYARD_REQUEST_TIMEOUT_SECONDS * 1000,
      headersMs: config.SWITCHYARD_HEADERS_TIMEOUT_SECONDS * 1000,
      keepAliveMs: config.SWITCHYARD_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    },
  });
}
