/**
 * How a Slack conversation shows an approval (issue 13): the request is a message with
 * Block Kit blocks (https://api.slack.com/reference/block-kit/blocks): a `section` with the
 * tool and its arguments and an `actions` block with two buttons whose `action_id` is
 * `approval:approve:<approval id>` / `approval:deny:<approval id>` (at most 255 characters;
 * https://api.slack.com/reference/block-kit/block-elements#button). Once decided, the
 * message is updated (`chat.update`): the buttons are replaced by the decision text.
 * The post id kept by core is `<channel>:<ts>` (what `chat.update` needs).
 */
import type { ApprovalView } from "switchyard";
import { escapeMrkdwn } from "./_text.ts";

/** `approval:<approve|deny>:<approval id>`: the buttons' `action_id`. */
export const ACTION_RE = /^approval:(approve|deny):([A-Za-z0-9-]{1,128})$/;

/** Inline code text: backticks would end the span, so they become `'`. */
const code = (s: string) => `\`${escapeMrkdwn(s.replace(/`/g, "'"))}\``;

/** The request's plain words (also the notification fallback `text`), escaped for mrkdwn. */
export function requestText(a: ApprovalView): string {
  return [
    `Approval needed: the bot wants to run ${code(a.tool)}`,
    `Arguments: ${code(a.argsText)}`,
    `Expires ${new Date(a.expiresAt).toISOString()}.`,
  ].join("\n");
}

/** The request's blocks: the words and the two buttons carrying the approval id. */
export function requestBlocks(a: ApprovalView): unknown[] {
  return [
    { type: "section", text: { type: "mrkdwn", text: requestText(a) } },
    {
      type: "actions",
      block_id: `approval:${a.id}`,
      elements: [
        {
          type: "button",
          action_id: `approval:approve:${a.id}`,
          text: { type: "plain_text", text: "Approve" },
          style: "primary",
          value: a.id,
        },
        {
          type: "button",
          action_id: `approval:deny:${a.id}`,
          text: { type: "plain_text", text: "Deny" },
          style: "danger",
          value: a.id,
        },
      ],
    },
  ];
}

/** The decision in words, escaped for mrkdwn (`Approved by slack:U1: \`tool\``). */
export function decisionText(a: ApprovalView): string {
  const who = a.decidedBy ? ` by ${escapeMrkdwn(a.decidedBy)}` : "";
  const why = a.reason ? ` (${escapeMrkdwn(a.reason)})` : "";
  switch (a.status) {
    case "approved":
      return `:white_check_mark: Approved${who}: ${code(a.tool)}${why}`;
    case "denied":
      return `:no_entry: Denied${who}: ${code(a.tool)}${why}`;
    case "expired":
      return `:hourglass: Expired: ${code(a.tool)} was not run`;
    default:
      return `Waiting for approval: ${code(a.tool)}`;
  }
}

/** The post id kept by core: `<channel>:<ts>`. */
export const postIdOf = (channel: string, ts: string) => `${channel}:${ts}`;

/** The channel and ts of a post id; a bare ts takes `channel`. */
export function parsePostId(
  postId: string,
  channel: string,
): { channel: string; ts: string } | undefined {
  const at = postId.lastIndexOf(":");
  const out =
    at < 0 ? { channel, ts: postId } : { channel: postId.slice(0, at), ts: postId.slice(at + 1) };
  return out.channel && /^\d+\.\d+$/.test(out.ts) ? out : undefined;
}

/**
 * What the presser is told (ephemerally) when the press did not resolve the approval;
 * undefined for `decided` (the request post is updated instead).
 */
export function outcomeText(
  outcome: "decided" | "already_decided" | "not_found" | "forbidden" | "error",
  a: ApprovalView | undefined,
): string | undefined {
  switch (outcome) {
    case "decided":
      return undefined;
    case "already_decided":
      return a ? `Already decided. ${decisionText(a)}` : "Already decided.";
    case "forbidden":
      return "Only the members of this request's conversation can decide it.";
    case "not_found":
      return "This approval request no longer exists.";
    default:
      return "The decision could not be recorded; try again.";
  }
}
