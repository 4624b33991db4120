/**
 * How a Telegram chat shows an approval (issue 13): the request is a plain-text message
 * with an inline keyboard (https://core.telegram.org/bots/api#inlinekeyboardmarkup) of two
 * buttons whose `callback_data` is `approval:approve:<approval id>` /
 * `approval:deny:<approval id>` (1–64 bytes: a UUID's 36 characters fit); a press comes
 * back as a `callback_query` update. Once decided, the message's text is edited to the
 * decision and its keyboard removed. The post id kept by core is the message id.
 */
import type { ApprovalDecisionResult, ApprovalView } from "switchyard";

/** Longest `callback_data`, bytes (https://core.telegram.org/bots/api#inlinekeyboardbutton). */
export const MAX_CALLBACK_DATA_BYTES = 64;

/** `approval:<approve|deny>:<approval id>`. */
export const CALLBACK_RE = /^approval:(approve|deny):([A-Za-z0-9-]{1,64})$/;

/** The button data of a decision on approval `id`. */
export const callbackData = (decision: "approve" | "deny", id: string) =>
  `approval:${decision}:${id}`;

/** The request's words (plain text: no parse_mode, nothing to escape). */
export function requestText(a: ApprovalView): string {
  return [
    `Approval needed: the bot wants to run ${a.tool}`,
    `Arguments: ${a.argsText}`,
    `Expires ${new Date(a.expiresAt).toISOString()}.`,
  ].join("\n");
}

/**
 * The inline keyboard of a request.
 * @throws Error when the approval id makes `callback_data` longer than 64 bytes
 */
export function requestKeyboard(a: ApprovalView) {
  const approve = callbackData("approve", a.id);
  if (Buffer.byteLength(approve) > MAX_CALLBACK_DATA_BYTES) {
    throw new Error(`approval id too long for Telegram's callback_data (64 bytes): ${a.id}`);
  }
  return {
    inline_keyboard: [
      [
        { text: "✅ Approve", callback_data: approve },
        { text: "❌ Deny", callback_data: callbackData("deny", a.id) },
      ],
    ],
  };
}

/** The decision in words (`Approved by telegram:42: delete_branch`). */
export function decisionText(a: ApprovalView): string {
  const who = a.decidedBy ? ` by ${a.decidedBy}` : "";
  const why = a.reason ? ` (${a.reason})` : "";
  switch (a.status) {
    case "approved":
      return `✅ Approved${who}: ${a.tool}${why}`;
    case "denied":
      return `❌ Denied${who}: ${a.tool}${why}`;
    case "expired":
      return `⌛ Expired: ${a.tool} was not run`;
    default:
      return `Waiting for approval: ${a.tool}`;
  }
}

/**
 * The presser's answer (`answerCallbackQuery` text, at most 200 characters): the decision
 * made, the first decision, a refusal, or that the request is gone.
 */
export function answerText(
  r: ApprovalDecisionResult | undefined,
  decision: "approve" | "deny",
): string {
  let text: string;
  switch (r?.outcome) {
    case "decided":
      text = decision === "approve" ? "Approved" : "Denied";
      break;
    case "already_decided":
      text = r.approval ? `Already decided. ${decisionText(r.approval)}` : "Already decided.";
      break;
    case "forbidden":
      text = "Only the members of this request's chat can decide it.";
      break;
    case "not_found":
      text = "This approval request no longer exists.";
      break;
    default:
      text = "The decision could not be recorded; try again.";
  }
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
