/**
 * How a Discord channel shows an approval (issue 13): the request is a channel message
 * with message components (https://discord.com/developers/docs/interactions/message-components):
 * an action row (type 1) of two buttons (type 2, styles 3 Success and 4 Danger) whose
 * `custom_id` is `approval:approve:<approval id>` / `approval:deny:<approval id>` (at most
 * 100 characters). A press arrives as a MESSAGE_COMPONENT interaction (type 3). Once
 * decided, the message is edited: the decision as its content, no components. The post id
 * kept by core is the message id.
 */
import type { ApprovalDecisionResult, ApprovalView } from "switchyard";
import { escapeMarkdown } from "./_text.ts";

/** `approval:<approve|deny>:<approval id>`: the buttons' `custom_id`. */
export const CUSTOM_ID_RE = /^approval:(approve|deny):([A-Za-z0-9-]{1,80})$/;

/** The request's words, escaped so they show as written. */
export function requestText(a: ApprovalView): string {
  return [
    `**Approval needed**: the bot wants to run ${escapeMarkdown(a.tool)}`,
    `Arguments: ${escapeMarkdown(a.argsText)}`,
    `Expires <t:${Math.floor(a.expiresAt / 1000)}:R>.`,
  ].join("\n");
}

/** The request's components: one action row, Approve and Deny. */
export function requestComponents(a: ApprovalView): unknown[] {
  return [
    {
      type: 1,
      components: [
        { type: 2, style: 3, label: "Approve", custom_id: `approval:approve:${a.id}` },
        { type: 2, style: 4, label: "Deny", custom_id: `approval:deny:${a.id}` },
      ],
    },
  ];
}

/** The decision in words, escaped (`Approved by discord:1: delete_branch`). */
export function decisionText(a: ApprovalView): string {
  const who = a.decidedBy ? ` by ${escapeMarkdown(a.decidedBy)}` : "";
  const why = a.reason ? ` (${escapeMarkdown(a.reason)})` : "";
  const tool = escapeMarkdown(a.tool);
  switch (a.status) {
    case "approved":
      return `✅ Approved${who}: ${tool}${why}`;
    case "denied":
      return `❌ Denied${who}: ${tool}${why}`;
    case "expired":
      return `⌛ Expired: ${tool} was not run`;
    default:
      return `Waiting for approval: ${tool}`;
  }
}

/**
 * What the presser alone is told (an ephemeral answer) when the press did not resolve the
 * approval; undefined for `decided` (the message is edited instead).
 */
export function outcomeText(r: ApprovalDecisionResult | undefined): string | undefined {
  switch (r?.outcome) {
    case "decided":
      return undefined;
    case "already_decided":
      return r.approval ? `Already decided. ${decisionText(r.approval)}` : "Already decided.";
    case "forbidden":
      return "Only the members of this request's conversation can decide it.";
    case "not_found":
      return "This approval request no longer exists.";
    default:
      return "The decision could not be recorded; try again.";
  }
}
