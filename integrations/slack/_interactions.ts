/**
 * Slack interactivity (https://api.slack.com/interactivity/handling#payloads): a button
 * pressed on an approval request arrives at `POST /integrations/slack/interactions` as a
 * form-encoded body whose `payload` field is a `block_actions` JSON payload
 * (https://api.slack.com/reference/interaction-payloads/block-actions). This module reads
 * that payload into a decision; the route (adapter.ts) verifies, acknowledges and decides.
 *
 * The conversation pressed in is `{team: team.id, channel: channel.id, thread}`, the thread
 * being the message's `thread_ts` (absent for a top-level post, and ignored when it is the
 * post's own `ts`: a thread parent is not in a thread), the same shape as events give
 * (./_events.ts), so core can tell whether it is the approval's own conversation.
 */
import type { ApprovalDecisionInput } from "switchyard";
import { ACTION_RE } from "./_approval.ts";

/** A button press on an approval request, with where to answer the presser. */
export interface SlackDecision {
  input: ApprovalDecisionInput;
  /** The presser's Slack user id (for an ephemeral answer). */
  user: string;
}

/** Why a payload is acknowledged without a decision. */
export type SlackSkip = { skip: string };

const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

/**
 * The JSON `payload` of a form-encoded interaction body, or undefined when there is none or
 * it is not a JSON object (the caller answers 400).
 */
export function payloadOf(body: string): Record<string, any> | undefined {
  const raw = new URLSearchParams(body).get("payload");
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw);
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The approval decision of a `block_actions` payload, or why there is none. */
export function decisionOf(p: Record<string, any>): SlackDecision | SlackSkip {
  if (p.type !== "block_actions") return { skip: `payload ${String(p.type)}` };
  const actions: any[] = Array.isArray(p.actions) ? p.actions : [];
  let match: RegExpExecArray | null = null;
  for (const a of actions) {
    match = typeof a?.action_id === "string" ? ACTION_RE.exec(a.action_id) : null;
    if (match) break;
  }
  if (!match) return { skip: "not an approval button" };
  const user = str(p.user?.id);
  const channel = str(p.channel?.id) ?? str(p.container?.channel_id);
  if (!user || !channel) return { skip: "no user or channel" };
  const ts = str(p.message?.ts) ?? str(p.container?.message_ts);
  const threadTs = str(p.message?.thread_ts) ?? str(p.container?.thread_ts);
  const thread = threadTs && threadTs !== ts ? threadTs : undefined;
  const team = str(p.team?.id) ?? str(p.user?.team_id);
  const name = str(p.user?.name) ?? str(p.user?.username);
  return {
    user,
    input: {
      approvalId: match[2]!,
      decision: match[1] as "approve" | "deny",
      conversation: { ...(team ? { team } : {}), channel, ...(thread ? { thread } : {}) },
      actor: { id: user, ...(name ? { displayName: name } : {}), isBot: false },
    },
  };
}
