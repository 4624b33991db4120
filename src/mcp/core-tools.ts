/**
 * The core as MCP tools: open a session, send a message (optionally running the agent),
 * read a task, list a session's messages, search documents. Each tool takes the same
 * input as its REST route (the route's own zod schema), calls the same service
 * (`SessionService.getOrCreate` / `injectMessage`, the store reads of the task and message
 * routes, `DocumentService.search`) and returns the route's JSON; each needs its route's
 * scope ({@link CORE_TOOL_SCOPES}).
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { searchHitJson, searchQuery } from "../api/documents.ts";
import {
  createSessionBody,
  injectOptionsOf,
  listQuery,
  messageJson,
  postMessageBody,
} from "../api/sessions.ts";
import { readTask } from "../api/tasks.ts";
import type { DocumentService } from "../documents/service.ts";
import type { Scope } from "../sdk/scopes.ts";
import type { SessionService } from "../sessions/service.ts";
import type { Store } from "../store/index.ts";

/** What the core tools call: the services behind the REST routes of the same jobs. */
export interface CoreMcpServices {
  sessions: SessionService;
  documents: DocumentService;
  /** For the reads the REST routes make straight from the store (task, messages). */
  store: Store;
}

/** Every core tool with the scope of its REST route. */
export const CORE_TOOL_SCOPES = {
  session_open: "sessions:write",
  session_send_message: "sessions:write",
  session_messages: "sessions:read",
  task_get: "tasks:read",
  documents_search: "documents:read",
} as const satisfies Record<string, Scope>;

/** The name of one core tool. */
export type CoreToolName = keyof typeof CORE_TOOL_SCOPES;

/** A tool's input the MCP SDK could not refuse (it does not know the REST schema is strict). */
export class ToolInputError extends Error {}

/** Wraps a tool body with its scope check and error mapping (server.ts provides it). */
export type ToolRunner = <A>(
  name: CoreToolName,
  body: (args: A) => Promise<unknown>,
) => (args: A) => Promise<CallToolResult>;

const idField = z.string().min(1).max(200);

/** Parses `args` with a REST schema; a violation becomes a tool error naming the field. */
function parse<S extends z.ZodType>(schema: S, args: unknown): z.infer<S> {
  const r = schema.safeParse(args);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new ToolInputError(`Invalid input: ${issue.path.join(".") || "input"}: ${issue.message}`);
}

/** Registers the core tools on `server`. */
export function registerCoreTools(server: McpServer, run: ToolRunner, core: CoreMcpServices): void {
  server.registerTool(
    "session_open",
    {
      description:
        "Get or create the session of (bot_id, client_id), as POST /api/v1/sessions. Returns {session_id, created}.",
      inputSchema: createSessionBody.shape,
      annotations: { idempotentHint: true },
    },
    run("session_open", async (args: unknown) => {
      const a = parse(createSessionBody, args);
      const { session, created } = await core.sessions.getOrCreate(
        a.bot_id,
        a.client_id,
        a.dispatch_config,
      );
      return { session_id: session.id, created };
    }),
  );

  const sendShape = { session_id: idField, ...postMessageBody.shape };
  server.registerTool(
    "session_send_message",
    {
      description:
        "Add a message to a session, as POST /api/v1/sessions/{id}/messages; with run_agent: true an agent turn is queued (follow it with task_get). Returns {message_id, session_id, task_id}.",
      inputSchema: sendShape,
    },
    run("session_send_message", async (args: { session_id: string }) => {
      const { session_id, ...rest } = args;
      const b = parse(postMessageBody, rest);
      const r = await core.sessions.injectMessage(session_id, {
        ...injectOptionsOf(b),
        source: b.source ?? "mcp",
      });
      return { message_id: r.messageId, session_id: r.sessionId, task_id: r.taskId };
    }),
  );

  server.registerTool(
    "task_get",
    {
      description:
        "A task, as GET /api/v1/tasks/{id}: status (pending, running, complete, failed, cancelled), result, error, attempts, deliveries.",
      inputSchema: { task_id: idField },
      annotations: { readOnlyHint: true },
    },
    run("task_get", async (a: { task_id: string }) => {
      const t = await readTask(core.store, a.task_id);
      if (!t) throw new ToolInputError("Task not found");
      return t;
    }),
  );

  server.registerTool(
    "session_messages",
    {
      description:
        "The newest messages of a session, oldest first, as GET /api/v1/sessions/{id}/messages. Returns {items: [{id, role, content, metadata, created_at}]}.",
      inputSchema: { session_id: idField, ...listQuery.shape },
      annotations: { readOnlyHint: true },
    },
    run("session_messages", async (args: { session_id: string }) => {
      const { session_id, ...rest } = args;
      const q = parse(listQuery, rest);
      if (!(await core.store.sessions.get(session_id))) {
        throw new ToolInputError("Session not found");
      }
      return (await core.store.messages.listRecent(session_id, q.limit)).map(messageJson);
    }),
  );

  server.registerTool(
    "documents_search",
    {
      description:
        "Search documents, as GET /api/v1/documents/search: the best documents with their best chunk and a score. Returns {mode, results, warning?}.",
      inputSchema: searchQuery.shape,
      annotations: { readOnlyHint: true },
    },
    run("documents_search", async (args: unknown) => {
      const q = parse(searchQuery, args);
      const r = await core.documents.search({
        query: q.q,
        integrationId: q.integration_id,
        sessionId: q.session_id,
        limit: q.limit,
      });
      return {
        mode: r.mode,
        results: r.results.map(searchHitJson),
        ...(r.warning ? { warning: r.warning } : {}),
      };
    }),
  );
}
