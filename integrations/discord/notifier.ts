/**
 * The notification channel `discord`: a notification POSTed to a Discord webhook URL
 * (`https://discord.com/api/webhooks/<id>/<token>`, given as `webhook_url`) as
 * `{content, embeds}` — Discord "Execute Webhook",
 * https://discord.com/developers/docs/resources/webhook#execute-webhook. An object
 * attachment is sent as an embed object as given, anything else becomes
 * `{description: <it as text>}`. Discord refuses (400) `content` over 2000 characters and
 * more than 10 embeds, so such a notification is refused at the door (422) instead of
 * dying in the outbox. Core sends the body (outbox, retries, SSRF guard); the URL is the
 * only credential.
 */
import type { NotificationContent, NotifierDefinition } from "switchyard";

/** Longest `content`, in characters (Execute Webhook's JSON params). */
export const CONTENT_MAX = 2000;
/** Most embed objects in one message (Execute Webhook's JSON params). */
export const EMBEDS_MAX = 10;

/** An attachment as an embed object: non-objects become `{description: String(value)}`. */
function embed(a: unknown): unknown {
  if (a !== null && typeof a === "object" && !Array.isArray(a)) return a;
  return { description: typeof a === "string" ? a : JSON.stringify(a) };
}

/** Discord's Execute Webhook body for a notification. */
export function discordBody(c: NotificationContent): { content: string; embeds: unknown[] } {
  return { content: c.message, embeds: c.attachments.map(embed) };
}

/** Why Discord would refuse `c`, or null. */
export function discordCheck(c: NotificationContent): string | null {
  if (c.message.length > CONTENT_MAX) {
    return `message is longer than ${CONTENT_MAX} characters (Discord's content limit)`;
  }
  if (c.attachments.length > EMBEDS_MAX) {
    return `at most ${EMBEDS_MAX} attachments (Discord's embed limit)`;
  }
  return null;
}

export default (() => ({ body: discordBody, check: discordCheck })) satisfies NotifierDefinition;
