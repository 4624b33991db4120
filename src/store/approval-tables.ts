/** Row types of the approval tables (migration `0017_approvals`). Times in ms since the epoch. */

/** Where an approval is: `pending` until exactly one decision (or expiry) moves it. */
export type ApprovalStatus = "pending" | "approved" | "denied" | "expired";

export interface ApprovalsTable {
  id: string;
  task_id: string;
  session_id: string;
  bot_id: string;
  tool: string;
  tool_call_id: string;
  /** The AI SDK's `approvalId` of the `tool-approval-request` part. */
  sdk_approval_id: string;
  /** JSON: the call's arguments. */
  args: string;
  status: ApprovalStatus;
  requested_at: number;
  expires_at: number;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
  /** The adapter's post id of the request message. */
  request_post: string | null;
  /** When an approved call started running (it never runs twice). */
  executed_at: number | null;
}

export interface TurnCheckpointsTable {
  task_id: string;
  /** JSON array of ModelMessages: the parked turn so far. */
  messages: string;
  /** The `provider:model` that was answering. */
  model: string;
  /** LLM calls used so far in the turn. */
  steps: number;
  /** Tool calls made so far in the turn. */
  tool_calls: number;
  updated_at: number;
}

/** Whether a tool call waits for a person: `always` asks, `never` runs it at once. */
export type ApprovalRule = "never" | "always";

/**
 * A bot's approval policy (`bots.approval`): `default` for tools not named in `tools`.
 * A run's `execution_config.approval` may only tighten it (see `src/approvals/policy.ts`).
 */
export interface ApprovalPolicy {
  default: ApprovalRule;
  tools: Record<string, ApprovalRule>;
}
