/**
 * `/api/v1/…attachments`:
 * - `POST /api/v1/sessions/{id}/attachments` stores one file in the session's scope: the
 *   raw body with its `Content-Type` and a name (`?name=` or `Content-Disposition:
 *   attachment; filename=…`), or `multipart/form-data` with one file part (its filename and
 *   type). → 201 `{id, name, media_type, size, sha256}`; 413 over
 *   `SWITCHYARD_ATTACHMENT_MAX_BYTES` (told by `Content-Length` before reading, else as the
 *   bytes arrive; nothing is kept).
 * - `GET /api/v1/attachments/{id}?session_id=…` the bytes, only for the session whose scope
 *   owns the id (any other → 404, never the bytes), with its `Content-Type`, `Content-
 *   Disposition: attachment`, `X-Content-Type-Options: nosniff` and a sandboxing CSP.
 * The key and scope are checked before the body is read.
 */
import { Readable } from "node:stream";
import multipart from "@fastify/multipart";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { ApiKeyAuth } from "../http/auth.ts";
import { HttpError, notFound } from "../http/errors.ts";
import type { RouteSpec } from "../http/routes.ts";
import type { Attachment } from "../sdk/attachments.ts";
import type { Store } from "../store/index.ts";
import { AttachmentTooLargeError } from "./errors.ts";
import type { AttachmentService } from "./service.ts";

/** What the attachments API needs. */
export interface AttachmentsApiOptions {
  auth: ApiKeyAuth;
  store: Store;
  attachments: AttachmentService;
}

/** The wire shape of a stored attachment. */
export function attachmentJson(a: Attachment) {
  return { id: a.id, name: a.name, media_type: a.mediaType, size: a.bytes, sha256: a.sha256 };
}

const idParams = z.object({ id: z.string().min(1).max(200) });
const uploadQuery = z.object({ name: z.string().min(1).max(1000).optional() });
const getQuery = z.object({ session_id: z.string().min(1).max(200) });

/** The file name of `Content-Disposition` (`filename*=UTF-8''…` preferred), if any. */
export function dispositionFileName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch {}
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
  return plain ? (plain[1]?.replace(/\\(.)/g, "$1") ?? plain[2]) : undefined;
}

/** `Content-Disposition: attachment` naming `name` (ASCII fallback plus RFC 8187 form). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Documentation-only specs, so the OpenAPI document lists both routes. */
const uploadSpec = {
  method: "POST",
  url: "/api/v1/sessions/:id/attachments",
  summary:
    "Store a file in the session's scope: the raw body (Content-Type, and ?name= or Content-Disposition) or multipart/form-data with one file",
  scope: "sessions:write",
  params: idParams,
  query: uploadQuery,
  status: 201,
  responses: { 413: "The file is larger than SWITCHYARD_ATTACHMENT_MAX_BYTES" },
} as unknown as RouteSpec<z.ZodType, z.ZodType, z.ZodType>;
const downloadSpec = {
  method: "GET",
  url: "/api/v1/attachments/:id",
  summary: "The bytes of an attachment, for the session whose scope owns it (else 404)",
  scope: "sessions:read",
  params: idParams,
  query: getQuery,
} as unknown as RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

/** @throws HttpError 400 naming the first query parameter the route does not take */
function refuseUnknownQuery(query: unknown, known: string[]): void {
  const names = query && typeof query === "object" ? Object.keys(query) : [];
  const unknown = names.find((n) => !known.includes(n));
  if (unknown !== undefined) {
    throw new HttpError(
      400,
      `Unknown query parameter: ${unknown.slice(0, 64)} (accepted: ${known.join(", ")})`,
    );
  }
}

function parseOr400<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join(".") || where;
  const unknownKeys = issue.code === "unrecognized_keys" ? `: ${issue.keys.join(", ")}` : "";
  throw new HttpError(400, `Invalid ${where}: ${field}: ${issue.message}${unknownKeys}`);
}

/** Registers the attachment routes (mount with `server.register`). */
export const attachmentsApi: FastifyPluginAsync<AttachmentsApiOptions> = async (app, opts) => {
  const { auth, store, attachments } = opts;
  // Bodies are streamed by the upload handler itself, whatever their type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));
  await app.register(multipart, {
    limits: { files: 1, fileSize: attachments.maxBytes + 1, fields: 10, parts: 11 },
    throwFileSizeLimit: false,
  });

  app.route({
    method: "POST",
    url: uploadSpec.url,
    config: { apiSpec: uploadSpec },
    onRequest: async (req) => {
      await auth.require(req, "sessions:write");
      const length = Number(req.headers["content-length"] ?? Number.NaN);
      if (Number.isFinite(length) && length > attachments.maxBytes && !req.isMultipart()) {
        throw tooLarge(attachments.maxBytes);
      }
    },
    handler: async (req, reply) => {
      const { id: sessionId } = parseOr400(idParams, req.params, "path");
      refuseUnknownQuery(req.query, ["name"]);
      const query = parseOr400(uploadQuery, req.query ?? {}, "query");
      if (!(await store.sessions.get(sessionId))) throw notFound("Session");
      const scope = { kind: "session" as const, id: sessionId };
      try {
        let saved: Attachment;
        if (req.isMultipart()) {
          const part = await req.file();
          if (!part) throw new HttpError(400, "Invalid body: the multipart body has no file part");
          saved = await attachments.save({
            scope,
            name: query.name ?? part.filename,
            mediaType: part.mimetype,
            data: part.file,
          });
        } else {
          const name = query.name ?? dispositionFileName(header(req, "content-disposition"));
          if (!name) {
            throw new HttpError(
              400,
              "A file name is required: ?name=<file name> or Content-Disposition: attachment; filename=<file name>",
            );
          }
          saved = await attachments.save({
            scope,
            name,
            mediaType: header(req, "content-type"),
            data: req.raw,
          });
        }
        return reply.code(201).send(attachmentJson(saved));
      } catch (err) {
        if (err instanceof AttachmentTooLargeError) {
          // The rest of the body is not read: close the connection after answering.
          reply.header("connection", "close");
          throw tooLarge(attachments.maxBytes);
        }
        throw err;
      }
    },
  });

  app.route({
    method: "GET",
    url: downloadSpec.url,
    config: { apiSpec: downloadSpec },
    onRequest: async (req) => {
      await auth.require(req, "sessions:read");
    },
    handler: async (req, reply) => {
      const { id } = parseOr400(idParams, req.params, "path");
      refuseUnknownQuery(req.query, ["session_id"]);
      const query = parseOr400(getQuery, req.query ?? {}, "query");
      const found = await attachments.resolve({ id }, { kind: "session", id: query.session_id });
      if (!found) throw notFound("Attachment");
      return sendAttachment(reply, found.mediaType, found.name, found.bytes, found.data());
    },
  });
};

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" ? v : undefined;
}

function tooLarge(max: number): HttpError {
  return new HttpError(
    413,
    `The file is larger than the attachment limit of ${max} bytes (SWITCHYARD_ATTACHMENT_MAX_BYTES)`,
  );
}

/** Sends stored bytes with headers that keep a browser from running or sniffing them. */
function sendAttachment(
  reply: FastifyReply,
  mediaType: string,
  name: string,
  size: number,
  data: AsyncIterable<Uint8Array>,
) {
  return reply
    .header("content-type", mediaType)
    .header("content-length", String(size))
    .header("content-disposition", contentDisposition(name))
    .header("x-content-type-options", "nosniff")
    .header("content-security-policy", "default-src 'none'; sandbox")
    .header("cache-control", "private, no-store")
    .send(Readable.from(data));
}
