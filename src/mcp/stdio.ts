/**
 * MCP over stdio (`switchyard mcp`): a local MCP client (an editor, another agent runtime)
 * starts this process and speaks JSON-RPC on its stdin/stdout. stdout carries only MCP
 * messages: logs go to stderr. A local operator holds every scope.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createMcpServer, type McpServices } from "./server.ts";

/**
 * Serves `services` on stdin/stdout until stdin closes.
 * @returns a promise that resolves when the client disconnects
 */
export async function serveMcpStdio(services: McpServices, version: string): Promise<void> {
  const server = createMcpServer(services, { version });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once("end", () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close().catch(() => {});
}
