/**
 * How an approval is shown: the REST/MCP/event JSON (snake_case, ISO 8601 times) and the
 * adapter's {@link ApprovalView}. The call's arguments are shown with every value under a
 * secret-named key (`token`, `password`, `api_key`…) masked as `"****"`; other values,
 * URLs included, are kept so the person deciding sees what would run.
 */
import { isSecretName } from "../lib/redact.ts";
import type { ApprovalView } from "../sdk/adapter.ts";
import type { Approval } from "../store/approvals.ts";

/** `args` with the values under secret-named keys masked, at any depth. */
export function redactArgs(value: unknown, secret = false): unknown {
  if (value == null) return value;
  if (typeof value !== "object") return secret ? "****" : value;
  if (Array.isArray(value)) return value.map((v) => redactArgs(v, secret));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      redactArgs(v, secret || isSecretName(k)),
    ]),
  );
}

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/** The wire shape of an approval (REST, MCP, events). */
export function approvalJson(a: Approval) {
  return {
    id: a.id,
    task_id: a.taskId,
    session_id: a.sessionId,
    bot_id: a.botId,
    tool: a.tool,
    tool_call_id: a.toolCallId,
    args: redactArgs(a.args),
    status: a.status,
    requested_at: iso(a.requestedAt),
    expires_at: iso(a.expiresAt),
    decided_by: a.decidedBy,
    decided_at: iso(a.decidedAt),
    reason: a.reason,
    request_post: a.requestPost,
  };
}

/** Longest `argsText` of an {@link ApprovalView}, characters: it fits a 2,000-character chat message with room for the rest of the request. */
export const ARGS_TEXT_CHARS = 1200;

/** `args` as one line of JSON, cut at {@link ARGS_TEXT_CHARS}. */
function argsText(args: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(args ?? {}) ?? "null";
  } catch {
    s = String(args);
  }
  return s.length > ARGS_TEXT_CHARS ? `${s.slice(0, ARGS_TEXT_CHARS - 1)}…` : s;
}

/** What an adapter is given to show (see the SDK's {@link ApprovalView}). */
export function approvalView(a: Approval): ApprovalView {
  const args = redactArgs(a.args);
  return {
    id: a.id,
    taskId: a.taskId,
    tool: a.tool,
    args,
    argsText: argsText(args),
    status: a.status,
    expiresAt: a.expiresAt,
    ...(a.decidedBy ? { decidedBy: a.decidedBy } : {}),
    ...(a.reason ? { reason: a.reason } : {}),
  };
}
