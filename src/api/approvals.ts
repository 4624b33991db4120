/**
 * `/api/v1/approvals…` (docs/approvals.md): list and read tool approvals, and decide one.
 * Scopes `approvals:read` / `approvals:write`; the decider recorded is the API key's name.
 * A second decision answers 409 with the first one in `approval`.
 */
import { z } from "zod";
import type { ApprovalService, DecisionResult } from "../approvals/service.ts";
import { approvalJson } from "../approvals/view.ts";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import type { Store } from "../store/index.ts";

const idParams = z.object({ id: z.string().min(1) });
const listQuery = z.strictObject({
  status: z
    .enum(["pending", "approved", "denied", "expired"], {
      error: 'must be "pending", "approved", "denied" or "expired"',
    })
    .optional(),
  task_id: z.string().min(1).optional(),
  session_id: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
const decideBody = z.strictObject({
  decision: z.enum(["approve", "deny"], { error: 'must be "approve" or "deny"' }),
  reason: z.string().max(2000).optional(),
});

/** What approvalsApi needs. */
export interface ApprovalsApiOptions {
  store: Store;
  approvals: Pick<ApprovalService, "decide">;
}

/** Answers a decision's outcome: the approval, or 404/409 (with the first decision). */
export function decisionAnswer(r: DecisionResult, reply: { code(n: number): unknown }) {
  if (r.outcome === "not_found") throw notFound("Approval");
  if (r.outcome === "already_decided") {
    reply.code(409);
    return {
      detail: `Approval was already decided: ${r.approval.status}${r.approval.decidedBy ? ` by ${r.approval.decidedBy}` : ""}`,
      approval: approvalJson(r.approval),
    };
  }
  if (r.outcome === "forbidden") throw new HttpError(403, "Not allowed to decide this approval");
  return approvalJson(r.approval);
}

/** Registers the approval routes. */
export const approvalsApi = apiPlugin<ApprovalsApiOptions>((routes, { store, approvals }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/approvals",
    summary: "List tool approvals, newest first (filter by status, task_id, session_id)",
    scope: "approvals:read",
    query: listQuery,
    async handler({ query }) {
      const rows = await store.approvals.list({
        status: query.status,
        taskId: query.task_id,
        sessionId: query.session_id,
        limit: query.limit,
      });
      return rows.map(approvalJson);
    },
  });
  routes.add({
    method: "GET",
    url: "/api/v1/approvals/:id",
    summary: "A tool approval",
    scope: "approvals:read",
    params: idParams,
    async handler({ params }) {
      const a = await store.approvals.get(params.id);
      if (!a) throw notFound("Approval");
      return approvalJson(a);
    },
  });
  routes.add({
    method: "POST",
    url: "/api/v1/approvals/:id",
    summary:
      "Approve or deny a pending tool approval; the turn resumes (409 with the first decision when it was already decided)",
    scope: "approvals:write",
    params: idParams,
    body: decideBody,
    responses: { 409: "Already decided; `approval` shows the first decision" },
    async handler({ params, body, apiKey }, reply) {
      const r = await approvals.decide(params.id, {
        decision: body.decision,
        reason: body.reason ?? null,
        decidedBy: apiKey?.name ?? "api",
      });
      return decisionAnswer(r, reply);
    },
  });
});
