/**
 * The MCP server (Model Context Protocol, official `@modelcontextprotocol/sdk`): the
 * outbound domain of seed 003 as eight tools that call the same {@link OutboundServices}
 * as the REST API, and the core (sessions, messages, tasks, document search) as the tools
 * of ./core-tools.ts and the jobs as those of ./job-tools.ts, which call the same services as their REST routes. Results are structured JSON (`structuredContent`, and the same JSON as
 * text for clients that only read text); bad input comes back as a tool error
 * (`isError: true`) whose text is the REST `detail`.
 *
 * Served over Streamable HTTP at `/mcp` (./http.ts) and over stdio (`switchyard mcp`).
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import {
  EVENT_NAMES,
  NOTIFICATION_PRIORITIES,
  OutboundInputError,
  type OutboundServices,
} from "../events/outbound-types.ts";
import { JobInputError } from "../scheduler/schedule.ts";
import { JobNotFoundError } from "../scheduler/service.ts";
import type { Scope } from "../sdk/scopes.ts";
import {
  InvalidDispatchConfigError,
  InvalidInputError,
  SessionNotFoundError,
  UnknownBotError,
} from "../sessions/errors.ts";
import {
  APPROVAL_TOOL_SCOPES,
  type ApprovalMcpServices,
  registerApprovalTools,
} from "./approval-tools.ts";
import {
  CORE_TOOL_SCOPES,
  type CoreMcpServices,
  registerCoreTools,
  ToolInputError,
} from "./core-tools.ts";
import { JOB_TOOL_SCOPES, type JobMcpServices, registerJobTools } from "./job-tools.ts";

/** What the MCP tools call: the outbound services and the core services. */
export interface McpServices {
  outbound: OutboundServices;
  core: CoreMcpServices;
  jobs: JobMcpServices;
  approvals: ApprovalMcpServices;
}

/** Every MCP tool with the API scope it needs (the same as its REST route). */
export const MCP_TOOL_SCOPES = {
  ...CORE_TOOL_SCOPES,
  ...JOB_TOOL_SCOPES,
  ...APPROVAL_TOOL_SCOPES,
  integrations_state: "webhooks:read",
  integration_webhook_list: "webhooks:read",
  integration_webhook_register: "webhooks:write",
  integration_webhook_delete: "webhooks:write",
  integration_git_auto_commit_get: "webhooks:read",
  integration_git_auto_commit_set: "admin",
  integration_notify: "webhooks:write",
  integration_emit_event: "webhooks:write",
} as const satisfies Record<string, Scope>;

/** The name of one MCP tool. */
export type McpToolName = keyof typeof MCP_TOOL_SCOPES;

/** Options of {@link createMcpServer}. */
export interface McpServerOptions {
  /** Server version announced to clients. */
  version: string;
  /**
   * Whether the caller holds `scope`; a tool whose scope is missing answers a tool error
   * `Missing required scope: X`. Default: every scope (stdio, a local operator).
   */
  allows?: (scope: Scope) => boolean;
  /** Who calls (the API key's name), recorded as an approval's decider. Default `mcp`. */
  caller?: string;
}

const eventNameList = EVENT_NAMES.join(", ");

/**
 * Builds an MCP server exposing the outbound and core services. Cheap enough to build per
 * request (the stateless Streamable HTTP pattern).
 */
export function createMcpServer(all: McpServices, opts: McpServerOptions): McpServer {
  const services = all.outbound;
  const server = new McpServer({ name: "switchyard", version: opts.version });
  const allows = opts.allows ?? (() => true);

  /** Runs a tool body with its scope check and maps results and input errors. */
  const run =
    <A>(name: McpToolName, body: (args: A) => Promise<unknown>) =>
    async (args: A): Promise<CallToolResult> => {
      const scope = MCP_TOOL_SCOPES[name];
      if (!allows(scope)) return toolError(`Missing required scope: ${scope}`);
      try {
        const out = await body(args);
        const structured = (
          Array.isArray(out) ? { items: out } : (out as Record<string, unknown>)
        ) as Record<string, unknown>;
        return {
          content: [{ type: "text", text: JSON.stringify(out) }],
          structuredContent: structured,
        };
      } catch (err) {
        const text = inputErrorText(err);
        if (text !== undefined) return toolError(text);
        throw err;
      }
    };
  registerCoreTools(server, run, all.core);
  registerJobTools(server, run, all.jobs);
  registerApprovalTools(server, run, all.approvals, opts.caller ?? "mcp");

  server.registerTool(
    "integrations_state",
    {
      description:
        "The whole integrations state: version, updated_at, webhooks (never their secrets), git auto-commit settings and the notification history.",
      annotations: { readOnlyHint: true },
    },
    run("integrations_state", () => services.state()),
  );
  server.registerTool(
    "integration_webhook_list",
    {
      description:
        "List event webhook subscriptions as {items: [{id, url, events, has_secret, created_at, updated_at, disabled_at}]}; secrets are never returned.",
      annotations: { readOnlyHint: true },
    },
    run("integration_webhook_list", () => services.listWebhooks()),
  );
  server.registerTool(
    "integration_webhook_register",
    {
      description: `Register an event webhook, or update the one with the same URL (events, secret). Events: ${eventNameList}; none = all events. Returns {created, webhook}.`,
      inputSchema: {
        url: z.string().describe("http(s) URL that receives POSTed events"),
        events: z.array(z.string()).optional().describe(`Subset of: ${eventNameList}`),
        secret: z
          .string()
          .optional()
          .describe("Signing secret (X-AMS-Signature and webhook-signature); write-only"),
      },
      annotations: { idempotentHint: true },
    },
    run("integration_webhook_register", (a: { url: string; events?: string[]; secret?: string }) =>
      services.registerWebhook(a),
    ),
  );
  server.registerTool(
    "integration_webhook_delete",
    {
      description: "Delete an event webhook by id. Returns {removed, webhook_id}.",
      inputSchema: { webhookId: z.string().describe("The webhook's id") },
      annotations: { destructiveHint: true, idempotentHint: true },
    },
    run("integration_webhook_delete", (a: { webhookId: string }) =>
      services.deleteWebhook(a.webhookId),
    ),
  );
  server.registerTool(
    "integration_git_auto_commit_get",
    {
      description:
        "Git auto-commit settings: {enabled, on_events}. When enabled, those events commit every change in the workspace.",
      annotations: { readOnlyHint: true },
    },
    run("integration_git_auto_commit_get", () => services.getGitAutoCommit()),
  );
  server.registerTool(
    "integration_git_auto_commit_set",
    {
      description: `Change git auto-commit settings; omitted fields keep their value. Events: ${eventNameList}. Returns {enabled, on_events}.`,
      inputSchema: {
        enabled: z.boolean().optional(),
        on_events: z.array(z.string()).optional(),
      },
      annotations: { idempotentHint: true },
    },
    run("integration_git_auto_commit_set", (a: { enabled?: boolean; on_events?: string[] }) =>
      services.setGitAutoCommit(a),
    ),
  );
  server.registerTool(
    "integration_notify",
    {
      description:
        "Send a notification: to the webhook channel or an integration's chat channel (an incoming-webhook URL in webhook_url), or by email (over SMTP when SMTP_URL is set). An unknown channel is refused with the list of channels. Returns {success, notification_id, delivered, channel, priority, delivery}.",
      inputSchema: {
        // Checked by the service against the live channel list (integrations add channels).
        channel: z.string().describe("email, webhook, or a channel an integration adds"),
        message: z.string(),
        priority: z.enum(NOTIFICATION_PRIORITIES).optional(),
        webhook_url: z
          .string()
          .optional()
          .describe("Incoming-webhook URL, or the recipient address for email"),
        attachments: z.array(z.unknown()).optional(),
        timeout_ms: z.number().int().positive().optional().describe("Per-attempt timeout (ms)"),
        retry_count: z.number().int().min(0).max(10).optional().describe("Inline retries"),
      },
    },
    run("integration_notify", (a: Parameters<OutboundServices["notify"]>[0]) => services.notify(a)),
  );
  server.registerTool(
    "integration_emit_event",
    {
      description: `Emit an event to every subscribed webhook (signed, through the durable outbox). Events: ${eventNameList}. Returns {sent, failed, skipped, deliveries}.`,
      inputSchema: {
        eventName: z.string(),
        payload: z.record(z.string(), z.unknown()).optional(),
      },
    },
    run("integration_emit_event", (a: { eventName: string; payload?: Record<string, unknown> }) =>
      services.emitEvent(a.eventName, a.payload),
    ),
  );
  return server;
}

/** The REST `detail` of an error caused by the tool's input, or undefined for any other. */
function inputErrorText(err: unknown): string | undefined {
  if (err instanceof InvalidInputError) return `Invalid input: ${err.field}: ${err.problem}`;
  if (err instanceof JobInputError) return `Invalid ${err.message}`;
  if (
    err instanceof OutboundInputError ||
    err instanceof ToolInputError ||
    err instanceof UnknownBotError ||
    err instanceof SessionNotFoundError ||
    err instanceof JobNotFoundError ||
    err instanceof InvalidDispatchConfigError
  ) {
    return err.message;
  }
  return undefined;
}

function toolError(text: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text }] };
}
