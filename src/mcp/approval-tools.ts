/**
 * Tool approvals as MCP tools (docs/approvals.md): list them, and approve or deny one.
 * Same input, service and JSON as `GET /api/v1/approvals` and `POST /api/v1/approvals/{id}`;
 * the decider recorded is the caller's API key name (`mcp` over stdio).
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ApprovalService } from "../approvals/service.ts";
import { approvalJson } from "../approvals/view.ts";
import type { Scope } from "../sdk/scopes.ts";
import type { Store } from "../store/index.ts";
import { ToolInputError } from "./core-tools.ts";

/** What the approval tools call. */
export interface ApprovalMcpServices {
  store: Store;
  approvals: Pick<ApprovalService, "decide">;
}

/** Every approval tool with the scope of its REST route. */
export const APPROVAL_TOOL_SCOPES = {
  approvals_list: "approvals:read",
  approval_decide: "approvals:write",
} as const satisfies Record<string, Scope>;

/** The name of one approval tool. */
export type ApprovalToolName = keyof typeof APPROVAL_TOOL_SCOPES;

/** Wraps a tool body with its scope check and error mapping (server.ts provides it). */
export type ApprovalToolRunner = <A>(
  name: ApprovalToolName,
  body: (args: A) => Promise<unknown>,
) => (args: A) => Promise<CallToolResult>;

const STATUSES = ["pending", "approved", "denied", "expired"] as const;

/** Registers the approval tools on `server`; `caller` is recorded as the decider. */
export function registerApprovalTools(
  server: McpServer,
  run: ApprovalToolRunner,
  s: ApprovalMcpServices,
  caller: string,
): void {
  server.registerTool(
    "approvals_list",
    {
      description:
        "Tool calls waiting for (or given) a decision, newest first, as GET /api/v1/approvals: {items: [{id, task_id, session_id, tool, args, status, requested_at, expires_at, decided_by, decided_at, reason}]}.",
      inputSchema: {
        status: z.enum(STATUSES).optional(),
        task_id: z.string().min(1).optional(),
        session_id: z.string().min(1).optional(),
        limit: z.number().int().min(1).max(1000).optional(),
      },
      annotations: { readOnlyHint: true },
    },
    run(
      "approvals_list",
      async (a: {
        status?: (typeof STATUSES)[number];
        task_id?: string;
        session_id?: string;
        limit?: number;
      }) =>
        (
          await s.store.approvals.list({
            status: a.status,
            taskId: a.task_id,
            sessionId: a.session_id,
            limit: a.limit ?? 200,
          })
        ).map(approvalJson),
    ),
  );
  server.registerTool(
    "approval_decide",
    {
      description:
        "Approve or deny a pending tool call, as POST /api/v1/approvals/{id}: the agent's turn resumes (approve: the tool runs; deny: the model is told). A second decision is refused, naming the first.",
      inputSchema: {
        approval_id: z.string().min(1).max(200),
        decision: z.enum(["approve", "deny"]),
        reason: z.string().max(2000).optional(),
      },
    },
    run(
      "approval_decide",
      async (a: { approval_id: string; decision: "approve" | "deny"; reason?: string }) => {
        const r = await s.approvals.decide(a.approval_id, {
          decision: a.decision,
          reason: a.reason ?? null,
          decidedBy: caller,
        });
        if (r.outcome === "not_found") throw new ToolInputError("Approval not found");
        if (r.outcome === "already_decided") {
          throw new ToolInputError(
            `Approval was already decided: ${r.approval.status}${r.approval.decidedBy ? ` by ${r.approval.decidedBy}` : ""}`,
          );
        }
        return approvalJson(r.approval);
      },
    ),
  );
}
