/**
 * MCP over Streamable HTTP at `POST /mcp` (MCP specification 2025-06-18, "Streamable
 * HTTP" transport), stateless: each request gets its own server and transport, so any
 * instance can answer any request. The caller needs a valid API key (Bearer, 401 without);
 * each tool then checks its own scope (see `MCP_TOOL_SCOPES`), so a key with only
 * `sessions:write` may send messages but gets a tool error from the others. GET and
 * DELETE (server-initiated streams and session teardown) are not offered: 405.
 */
import type { FastifyInstance } from "fastify";
import type { ApiKeyAuth } from "../http/auth.ts";
import { scopeAllows } from "../store/api-keys.ts";
import type { McpServices } from "./server.ts";

/**
 * The MCP SDK's transport and the MCP server with its tools, imported on the first `/mcp`
 * request: a server nobody asks over MCP does not hold them (about 2 MB).
 */
let mcpModules:
  | Promise<
      [
        typeof import("@modelcontextprotocol/sdk/server/streamableHttp.js"),
        typeof import("./server.ts"),
      ]
    >
  | undefined;
const loadMcp = () =>
  (mcpModules ??= Promise.all([
    import("@modelcontextprotocol/sdk/server/streamableHttp.js"),
    import("./server.ts"),
  ]));

/** Mounts `/mcp` on `app`; `services` is read per request (it may be wired later). */
export function mountMcpHttp(
  app: FastifyInstance,
  auth: ApiKeyAuth,
  services: () => McpServices,
  version: string,
): void {
  app.route({
    method: ["GET", "DELETE"],
    url: "/mcp",
    async handler(_req, reply) {
      return reply
        .code(405)
        .header("allow", "POST")
        .send({ detail: "This MCP endpoint is stateless: POST JSON-RPC messages only" });
    },
  });
  app.post("/mcp", async (req, reply) => {
    const key = await auth.authenticate(req);
    const [{ StreamableHTTPServerTransport }, { createMcpServer }] = await loadMcp();
    const server = createMcpServer(services(), {
      version,
      allows: (scope) => scopeAllows(key.scopes, scope),
      caller: key.name,
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    reply.hijack();
    reply.raw.on("close", () => {
      transport.close().catch(() => {});
      server.close().catch(() => {});
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req.raw, reply.raw, req.body);
    } catch (err) {
      req.log.error({ err: (err as Error).message }, "MCP request failed");
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { "content-type": "application/json" });
        reply.raw.end(
          JSON.stringify({
            jsonrpc: "2.0",
            error: { code: -32603, message: "Internal error" },
            id: null,
          }),
        );
      } else reply.raw.end();
    }
  });
}
