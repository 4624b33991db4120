/**
 * One way to declare an API route: method, path, scope, zod schemas for params, query and
 * body, and a handler, inside a resource's Fastify plugin ({@link apiPlugin}). Declaring it
 * registers it with Fastify, validates input (400 with a `detail` naming the field),
 * enforces the scope, and adds it to the OpenAPI document ({@link OpenApiCollector}).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { describeIssue } from "../lib/zod-issues.ts";
import type { Scope } from "../sdk/scopes.ts";
import type { ApiKeyAuth } from "./auth.ts";
import { HttpError } from "./errors.ts";

/** A route declaration. */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Fastify path, e.g. `/api/v1/sessions/:id`. */
  url: string;
  summary: string;
  /** Required scope; omit for a public route. */
  scope?: Scope;
  params?: P;
  query?: Q;
  body?: B;
  /** Status of a successful answer (default 200); documented in OpenAPI. */
  status?: number;
  /** Status for an invalid query string (default 400). */
  queryErrorStatus?: number;
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

function routeAdder(app: FastifyInstance, auth: ApiKeyAuth): ApiRoutes {
  return {
    add(spec) {
      app.route({
        method: spec.method,
        url: spec.url,
        config: { apiSpec: spec as unknown as AnySpec },
        handler: async (req, reply) => {
          const apiKey = spec.scope ? await auth.require(req, spec.scope) : undefined;
          const params = parse(spec.params, req.params, "path", 404);
          const query = parse(spec.query, req.query, "query", spec.queryErrorStatus ?? 400);
          const body = parse(spec.body, req.body, "body", 400);
          const out = await spec.handler({ params, query, body, req, apiKey }, reply);
          if (!reply.sent && spec.status) reply.code(spec.status);
          return out;
        },
      });
    },
  };
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

/** Builds an OpenAPI 3.1 document from the declared routes. */
export function openApiDocument(table: OpenApiCollector, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of table.routes) {
    const path = r.url.replace(/:([a-zA-Z_]+)/g, "{$1}");
    const op: Record<string, unknown> = {
      summary: r.summary,
      responses: {
        [String(r.status ?? 200)]: { description: "OK" },
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
  return {
    openapi: "3.1.0",
    info: { title: "switchyard", version },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: { type: "object", properties: { detail: { type: "string" } }, required: ["detail"] },
      },
    },
    paths,
  };
}
