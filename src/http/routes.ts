/**
 * One way to declare an API route: method, path, scope, zod schemas for params, query and
 * body, and a handler, inside a resource's Fastify plugin ({@link apiPlugin}). Declaring it
 * registers it with Fastify, enforces the error policy ({@link ERROR_POLICY}: the key and
 * scope checked before the body is read, 415 for a body that is not JSON, 400 naming the
 * field for input that breaks the schemas, unknown query parameters included), and adds it
 * to the OpenAPI document ({@link OpenApiCollector}).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { describeIssue } from "../lib/zod-issues.ts";
import type { Scope } from "../sdk/scopes.ts";
import type { ApiKeyAuth } from "./auth.ts";
import { ERROR_POLICY, HttpError, notJson } from "./errors.ts";

/** A route declaration. */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Fastify path, e.g. `/api/v1/sessions/:id`. */
  url: string;
  summary: string;
  /** Required scope; omit for a public route. */
  scope?: Scope;
  params?: P;
  /** A `z.object` of the query parameters; any other parameter is refused (400). */
  query?: Q;
  body?: B;
  /** Status of a successful answer (default 200); documented in OpenAPI. */
  status?: number;
  /** Request headers the handler reads, documented in OpenAPI (validated by the handler). */
  headers?: Array<{ name: string; description: string; schema: Record<string, unknown> }>;
  /** Answers besides success and the generic error, documented in OpenAPI: status → text. */
  responses?: Record<number, string>;
  handler(
    input: {
      params: z.infer<P>;
      query: z.infer<Q>;
      body: z.infer<B>;
      req: FastifyRequest;
      /** The API key that passed the scope check (undefined on a public route). */
      apiKey?: ApiKeyIdentity;
    },
    reply: FastifyReply,
  ): Promise<unknown>;
}

/** The API key a request was authorised with (its record, as the auth check returns it). */
export type ApiKeyIdentity = Awaited<ReturnType<ApiKeyAuth["require"]>>;

/** Declares routes inside one resource's Fastify plugin. */
export interface ApiRoutes {
  /** Declares and registers a route in the plugin's scope. */
  add<
    P extends z.ZodType = z.ZodUnknown,
    Q extends z.ZodType = z.ZodUnknown,
    B extends z.ZodType = z.ZodUnknown,
  >(spec: RouteSpec<P, Q, B>): void;
}

type AnySpec = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

/** What every API plugin receives besides its own options: the API key check. */
export interface ApiPluginBase {
  auth: ApiKeyAuth;
}

/**
 * Makes one REST resource a Fastify plugin: `register` declares its routes with
 * {@link ApiRoutes.add}; mount it with `server.register(plugin, { auth, ...deps })`.
 * Each route carries its declaration in `config.apiSpec`, where {@link OpenApiCollector}
 * reads it, so the OpenAPI document comes from the same zod schemas that validate.
 */
export function apiPlugin<O extends object>(
  register: (routes: ApiRoutes, opts: O) => void,
): FastifyPluginAsync<O & ApiPluginBase> {
  return async (app, opts) => {
    register(routeAdder(app, opts.auth), opts);
  };
}

/** The key that passed a request's scope check in onRequest, for its handler. */
const keyOfRequest = new WeakMap<FastifyRequest, ApiKeyIdentity>();

function routeAdder(app: FastifyInstance, auth: ApiKeyAuth): ApiRoutes {
  return {
    add(spec) {
      const queryNames = queryParameterNames(spec.query);
      app.route({
        method: spec.method,
        url: spec.url,
        config: { apiSpec: spec as unknown as AnySpec },
        // Before the body is read: a request without a valid key gets 401 however
        // malformed or large its body, and a body that is not JSON gets 415, not a parse.
        onRequest: async (req) => {
          if (spec.scope) keyOfRequest.set(req, await auth.require(req, spec.scope));
          if (hasBody(req) && !isJsonContentType(req.headers["content-type"])) throw notJson();
        },
        handler: async (req, reply) => {
          const apiKey = keyOfRequest.get(req);
          const params = parse(spec.params, req.params, "path", 404);
          refuseUnknownQuery(req.query, queryNames);
          const query = parse(spec.query, req.query, "query", 400);
          const body = parse(spec.body, req.body, "body", 400);
          const out = await spec.handler({ params, query, body, req, apiKey }, reply);
          if (!reply.sent && spec.status) reply.code(spec.status);
          return out;
        },
      });
    },
  };
}

/** True when the request carries a body (a non-zero Content-Length, or chunked). */
function hasBody(req: FastifyRequest): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return length !== "0";
  return req.headers["transfer-encoding"] !== undefined;
}

/** `application/json` or `application/<x>+json`, any parameters (RFC 6839 §3.1). */
function isJsonContentType(header: string | undefined): boolean {
  const type = (header ?? "").split(";", 1)[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[^/\s]+\+json$/.test(type);
}

/** The parameter names a route's query schema declares (none without a schema). */
function queryParameterNames(schema: z.ZodType | undefined): Set<string> {
  if (schema === undefined) return new Set();
  if (!(schema instanceof z.ZodObject)) {
    throw new Error("a route's query schema must be a z.object of its parameters");
  }
  return new Set(Object.keys(schema.shape));
}

/**
 * @throws HttpError 400 naming the first query parameter the route does not declare
 *   (the name cut to 64 characters)
 */
function refuseUnknownQuery(query: unknown, known: Set<string>): void {
  const names = query && typeof query === "object" ? Object.keys(query) : [];
  const unknown = names.find((n) => !known.has(n));
  if (unknown === undefined) return;
  const accepted = known.size ? `accepted: ${[...known].join(", ")}` : "this route takes none";
  throw new HttpError(400, `Unknown query parameter: ${unknown.slice(0, 64)} (${accepted})`);
}

/** Collects the declared API routes of a server (attach it before mounting plugins). */
export class OpenApiCollector {
  readonly routes: AnySpec[] = [];
  /** Listens for every route added to `server` or any plugin inside it. */
  attach(server: FastifyInstance): void {
    server.addHook("onRoute", (r) => {
      const spec = (r.config as { apiSpec?: AnySpec } | undefined)?.apiSpec;
      if (spec) this.routes.push(spec);
    });
  }
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string, status: number): any {
  if (!schema) return value;
  if (where === "body" && value === undefined) {
    throw new HttpError(400, "Request body must be a JSON object");
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  if (where === "path") throw new HttpError(status, "Not found");
  const { field, problem } = describeIssue(r.error.issues[0]!);
  throw new HttpError(status, `Invalid ${where}: ${field || where}: ${problem}`);
}

/** The shared error responses of the OpenAPI document, by status (see {@link ERROR_POLICY}). */
const ERROR_RESPONSES: Record<string, { name: string; description: string }> = {
  "400": { name: "BadRequest", description: "Not valid JSON, or input that breaks the schema" },
  "401": { name: "Unauthorized", description: "No API key, or an unknown one" },
  "403": { name: "Forbidden", description: "The key lacks the route's scope" },
  "404": { name: "NotFound", description: "No such resource" },
  "415": { name: "UnsupportedMediaType", description: "A body without a JSON content type" },
  "422": { name: "Unprocessable", description: "Well-formed, refused on its meaning" },
};

/** Which shared error responses a route can give (405 is per path: see info.description). */
function errorResponses(r: AnySpec): Record<string, { $ref: string }> {
  const statuses = ["400"];
  if (r.scope) statuses.push("401", "403");
  if (r.params) statuses.push("404");
  if (r.method !== "GET" && r.method !== "DELETE") statuses.push("415");
  if (r.body) statuses.push("422");
  return Object.fromEntries(
    statuses.map((s) => [s, { $ref: `#/components/responses/${ERROR_RESPONSES[s]!.name}` }]),
  );
}

/** Builds an OpenAPI 3.1 document from the declared routes. */
export function openApiDocument(table: OpenApiCollector, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of table.routes) {
    const path = r.url.replace(/:([a-zA-Z_]+)/g, "{$1}");
    const op: Record<string, unknown> = {
      summary: r.summary,
      responses: {
        [String(r.status ?? 200)]: { description: "OK" },
        ...errorResponses(r),
        default: {
          description: "Error",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    };
    for (const [status, description] of Object.entries(r.responses ?? {})) {
      (op.responses as Record<string, unknown>)[status] = {
        description,
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    if (r.scope) op.security = [{ bearer: [r.scope] }];
    const parameters: unknown[] = [];
    for (const h of r.headers ?? []) {
      parameters.push({
        name: h.name,
        in: "header",
        required: false,
        description: h.description,
        schema: h.schema,
      });
    }
    for (const m of r.url.matchAll(/:([a-zA-Z_]+)/g)) {
      parameters.push({ name: m[1], in: "path", required: true, schema: { type: "string" } });
    }
    if (r.query) {
      const js = z.toJSONSchema(r.query, { io: "input", unrepresentable: "any" }) as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
      for (const [name, schema] of Object.entries(js.properties ?? {})) {
        parameters.push({
          name,
          in: "query",
          required: js.required?.includes(name) ?? false,
          schema,
        });
      }
    }
    if (parameters.length) op.parameters = parameters;
    if (r.body) {
      op.requestBody = {
        required: true,
        content: {
          "application/json": {
            schema: z.toJSONSchema(r.body, { io: "input", unrepresentable: "any" }),
          },
        },
      };
    }
    paths[path] = { ...paths[path], [r.method.toLowerCase()]: op };
  }
  const errorBody = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
  return {
    openapi: "3.1.0",
    info: { title: "switchyard", version, description: ERROR_POLICY },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: { type: "object", properties: { detail: { type: "string" } }, required: ["detail"] },
      },
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map(({ name, description }) => [
          name,
          { description, content: errorBody },
        ]),
      ),
    },
    paths,
  };
}
