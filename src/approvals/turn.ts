/**
 * The agent turn's side of approvals, on the AI SDK 6's own tool approval: tools get
 * `needsApproval`; when a step asks for approvals `generateText` returns
 * `tool-approval-request` content parts instead of running those calls, and the turn is
 * parked with its messages so far. Resuming appends one `tool` message of
 * `tool-approval-response` parts (approved, or denied with a reason) and calls
 * `generateText` again: the SDK runs the approved calls first and tells the model of the
 * denied ones (`execution-denied`), then the turn goes on.
 */
import type { ModelMessage } from "ai";
import type { Approval, TurnCheckpoint } from "../store/approvals.ts";

/** One call of a parked step that waits for a person. */
export interface ApprovalRequestPart {
  /** The SDK's approval id. */
  approvalId: string;
  toolCallId: string;
  toolName: string;
  input: unknown;
}

/** A turn that stopped on approvals: what parking it stores. */
export interface ParkedTurn {
  /** Every message of the turn so far, ending with the step that asked. */
  messages: ModelMessage[];
  /** The `provider:model` that was answering. */
  model: string;
  /** LLM calls used so far (across resumes). */
  steps: number;
  toolCalls: number;
  requests: ApprovalRequestPart[];
}

/** What the loop asks about approvals during one run. */
export interface TurnApprovals {
  /** Whether a call waits for a person (the policy, or a call approved earlier). */
  needsApproval(tool: string, toolCallId: string): boolean;
  /**
   * Called before a tool runs: for an approved call, claims its one execution; returns a
   * refusal the model sees instead when it ran before (or null to run it).
   */
  beforeRun(toolCallId: string): Promise<string | null>;
  /** The parked turn this run goes on from, decisions appended. */
  resume?: { messages: ModelMessage[]; model: string; steps: number; toolCalls: number };
}

/** The `tool-approval-request` parts of a result's content (the last step's). */
export function approvalRequestsOf(
  content: ReadonlyArray<{ type: string }>,
): ApprovalRequestPart[] {
  const out: ApprovalRequestPart[] = [];
  for (const p of content) {
    if (p.type !== "tool-approval-request") continue;
    const part = p as unknown as {
      approvalId: string;
      toolCall: { toolCallId: string; toolName: string; input: unknown };
    };
    out.push({
      approvalId: part.approvalId,
      toolCallId: part.toolCall.toolCallId,
      toolName: part.toolCall.toolName,
      input: part.toolCall.input,
    });
  }
  return out;
}

/** What the model is told about a call that was not approved. */
export function denialText(a: Approval): string {
  if (a.status === "expired") {
    return "The tool call was not approved in time (the request expired); it was not run.";
  }
  const by = a.decidedBy ? ` by ${a.decidedBy}` : "";
  return `The tool call was denied${by}${a.reason ? `: ${a.reason}` : ""}. It was not run; do not retry it.`;
}

/**
 * The messages a parked turn resumes with: its checkpoint plus one `tool` message of
 * `tool-approval-response` parts for the approvals of that park (those whose SDK approval
 * ids appear in the checkpoint and are not answered yet).
 */
export function resumeMessages(cp: TurnCheckpoint, approvals: Approval[]): ModelMessage[] {
  const messages = cp.messages as ModelMessage[];
  const asked = new Set<string>();
  for (const m of messages) {
    if (m.role !== "assistant" || typeof m.content === "string") continue;
    for (const p of m.content) if (p.type === "tool-approval-request") asked.add(p.approvalId);
  }
  const answered = new Set<string>();
  for (const m of messages) {
    if (m.role !== "tool") continue;
    for (const p of m.content) if (p.type === "tool-approval-response") answered.add(p.approvalId);
  }
  const responses = approvals
    .filter(
      (a) => asked.has(a.sdkApprovalId) && !answered.has(a.sdkApprovalId) && a.status !== "pending",
    )
    .map((a) => ({
      type: "tool-approval-response" as const,
      approvalId: a.sdkApprovalId,
      approved: a.status === "approved",
      ...(a.status === "approved" ? {} : { reason: denialText(a) }),
    }));
  return responses.length ? [...messages, { role: "tool", content: responses }] : messages;
}
