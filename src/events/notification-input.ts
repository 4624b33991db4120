/**
 * What a notification request may be: the defaults and bounds of its fields, and the check
 * that turns a {@link NotifyInput} into a validated request (channel registered, message,
 * priority, attachments, timeout and retries in range, an http(s) URL for an HTTP channel,
 * one address for email). The sending is ./notifications.ts.
 */
import type { SmtpSettings } from "./notification-mail.ts";
import { EMAIL_CHANNEL, type NotifierRegistry } from "./notifier-registry.ts";
import {
  NOTIFICATION_PRIORITIES,
  type NotificationChannel,
  type NotificationPriority,
  type NotifyInput,
  OutboundInputError,
} from "./outbound-types.ts";

/** Default per-attempt timeout, ms. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;
/** Default inline retries after the first attempt. */
export const DEFAULT_NOTIFY_RETRIES = 2;
/**
 * Bounds of a notification request: `timeoutMs` per attempt (ms), `retries` after the
 * first attempt, `messageChars` (chat incoming webhooks truncate text beyond 40 000),
 * `attachments` (count). REST states them in its schema; {@link checkNotification} enforces them.
 */
export const NOTIFY_LIMITS = {
  timeoutMs: 120_000,
  retries: 10,
  messageChars: 40_000,
  attachments: 100,
} as const;
const MAX_TIMEOUT_MS = NOTIFY_LIMITS.timeoutMs;
const MAX_RETRIES = NOTIFY_LIMITS.retries;
const MAX_MESSAGE_CHARS = NOTIFY_LIMITS.messageChars;
const MAX_ATTACHMENTS = NOTIFY_LIMITS.attachments;

/** A validated {@link NotifyInput}. */
export interface CheckedNotification {
  channel: NotificationChannel;
  message: string;
  priority: NotificationPriority;
  attachments: unknown[];
  timeoutMs: number;
  retries: number;
  /** The HTTP channels: the URL. */
  url?: string;
  /** email: the recipient, when there is one. */
  to?: string;
}

/** A refused notification request: OutboundInputError 422 with `message`. */
export const invalidNotification = (message: string): OutboundInputError =>
  new OutboundInputError(422, message);

/** A plain address from `mailto:addr[?…]` or `addr`; null when it is not one address. */
function parseRecipient(value: string): string | null {
  let s = value.trim();
  if (/^mailto:/i.test(s)) {
    s = s.slice("mailto:".length).split("?", 1)[0]!;
    try {
      s = decodeURIComponent(s);
    } catch {
      return null;
    }
  }
  return /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+$/.test(s) ? s : null;
}

function intIn(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw invalidNotification(`${name} must be an integer from ${min} to ${max}`);
  }
  return v;
}

/**
 * Checks a notification request; an email's recipient falls back to `smtp.to`.
 * @throws OutboundInputError 422 naming the field: unknown channel (naming the channels
 *   there are) or priority, missing or too long message, missing or non-http(s)
 *   `webhook_url` for an HTTP channel, a bad email address, out-of-range timeout_ms
 *   (1…120 000) or retry_count (0…10)
 */
export function checkNotification(
  input: NotifyInput,
  smtp: SmtpSettings,
  notifiers: NotifierRegistry,
): CheckedNotification {
  const i = (input ?? {}) as Partial<Record<keyof NotifyInput, unknown>>;
  const channel = i.channel as NotificationChannel;
  if (typeof channel !== "string" || !notifiers.has(channel)) {
    throw invalidNotification(unknownChannel(notifiers));
  }
  if (typeof i.message !== "string" || i.message.trim() === "") {
    throw invalidNotification("message is required");
  }
  if (i.message.length > MAX_MESSAGE_CHARS) {
    throw invalidNotification(`message is longer than ${MAX_MESSAGE_CHARS} characters`);
  }
  const priority = (i.priority ?? "normal") as NotificationPriority;
  if (!NOTIFICATION_PRIORITIES.includes(priority)) {
    throw invalidNotification(`priority must be one of: ${NOTIFICATION_PRIORITIES.join(", ")}`);
  }
  const attachments = i.attachments ?? [];
  if (!Array.isArray(attachments)) throw invalidNotification("attachments must be an array");
  if (attachments.length > MAX_ATTACHMENTS)
    throw invalidNotification(`at most ${MAX_ATTACHMENTS} attachments`);
  const out: CheckedNotification = {
    channel,
    message: i.message,
    priority,
    attachments,
    timeoutMs: intIn(i.timeout_ms, "timeout_ms", 1, MAX_TIMEOUT_MS, DEFAULT_NOTIFY_TIMEOUT_MS),
    retries: intIn(i.retry_count, "retry_count", 0, MAX_RETRIES, DEFAULT_NOTIFY_RETRIES),
  };
  const target = i.webhook_url;
  if (target !== undefined && target !== null && typeof target !== "string") {
    throw invalidNotification("webhook_url must be a string");
  }
  if (channel === EMAIL_CHANNEL) {
    const given = target?.trim() || smtp.to;
    if (given) {
      const to = parseRecipient(given);
      if (!to && target?.trim()) {
        throw invalidNotification(
          "webhook_url must be an email address or a mailto: URL for email",
        );
      }
      if (!to) throw invalidNotification("SMTP_TO is not an email address");
      out.to = to;
    } else if (smtp.url) {
      throw invalidNotification(
        "email needs a recipient: webhook_url (address or mailto:) or SMTP_TO",
      );
    }
    return out;
  }
  if (!target) throw invalidNotification(`webhook_url is required for channel ${channel}`);
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    throw invalidNotification("webhook_url is not a valid URL");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw invalidNotification("webhook_url must be an http or https URL");
  }
  out.url = u.href;
  return out;
}

/** The reason given for a channel that is not registered: it names the ones that are. */
export function unknownChannel(notifiers: Pick<NotifierRegistry, "channels">): string {
  return `channel must be one of: ${notifiers.channels().join(", ")}`;
}
