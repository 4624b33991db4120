/**
 * Checking that a request comes from Slack
 * (https://api.slack.com/authentication/verifying-requests-from-slack): `X-Slack-Signature:
 * v0=<hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{raw body}">` with
 * `SLACK_SIGNING_SECRET`, the timestamp within 300 s of now (either way). The same check
 * guards the Events API (`/events`) and interactivity (`/interactions`).
 */
import type { IntegrationContext } from "switchyard";

/** The outcome: the verified body as text, or why it was refused (never the signature). */
export type SlackChecked = { ok: true; text: string } | { ok: false; reason: string };

const header = (v: string | string[] | undefined) => (typeof v === "string" ? v : undefined);

/**
 * Verifies one request from Slack over its raw bytes; fails closed (no secret configured,
 * a missing, malformed, wrong or stale signature or timestamp).
 * @param headers the request headers (lower-case names, as Node gives them)
 * @param body the raw body bytes, exactly as received
 */
export function verifySlackRequest(
  ctx: IntegrationContext,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer | undefined,
): SlackChecked {
  const secret = ctx.settings.SLACK_SIGNING_SECRET;
  if (!secret) return { ok: false, reason: "SLACK_SIGNING_SECRET is not set" };
  const timestamp = header(headers["x-slack-request-timestamp"]);
  const checked = ctx.verify.hmac({
    secret,
    body,
    signature: headers["x-slack-signature"],
    prefix: "v0=",
    signedPrefix: `v0:${timestamp ?? ""}:`,
    timestamp,
    toleranceSeconds: 300,
    headerName: "X-Slack-Signature",
  });
  if (!checked.ok) return { ok: false, reason: checked.reason };
  if (!timestamp) return { ok: false, reason: "no X-Slack-Request-Timestamp" };
  return { ok: true, text: checked.text };
}
