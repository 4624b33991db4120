/**
 * The notification channel `slack`: a notification POSTed to a Slack incoming-webhook URL
 * (`https://hooks.slack.com/services/…`, given as `webhook_url`) as
 * `{text, attachments}` — Slack incoming webhooks, https://api.slack.com/messaging/webhooks.
 * `attachments` are Slack's secondary attachments
 * (https://api.slack.com/reference/messaging/attachments): an object attachment is sent
 * as given, anything else becomes `{text: <it as text>}`. Slack truncates `text` beyond
 * 40 000 characters and takes at most 100 attachments, which core's own limits already
 * are. Core sends the body (outbox, retries, SSRF guard); the URL is the only credential.
 */
import type { NotificationContent, NotifierDefinition } from "switchyard";

/** An attachment as an object: non-objects become `{text: String(value)}`. */
function attachment(a: unknown): unknown {
  if (a !== null && typeof a === "object" && !Array.isArray(a)) return a;
  return { text: typeof a === "string" ? a : JSON.stringify(a) };
}

/** Slack's incoming-webhook body for a notification. */
export function slackBody(c: NotificationContent): { text: string; attachments: unknown[] } {
  return { text: c.message, attachments: c.attachments.map(attachment) };
}

export default (() => ({ body: slackBody })) satisfies NotifierDefinition;
