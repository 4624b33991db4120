/**
 * The notifier contract: a notification channel that an integration folder adds
 * (`notifier.ts`, DESIGN §5), so core names no chat provider. Core keeps the channel
 * registry and two channels of its own, `email` (SMTP) and `webhook` (`{message,
 * attachments}`); an integration's notifier becomes the channel `<folder name>` of
 * `POST /api/v1/notifications` and the MCP tool `integration_notify`.
 *
 * A notifier only says what is sent: the JSON body POSTed to the request's `webhook_url`
 * (an incoming-webhook URL of the provider) and, optionally, extra headers. Core does the
 * send: the notification is an outbox row, POSTed by the one outbound HTTP client (SSRF
 * guard, timeouts, inline retries, then the durable retry schedule), so a notifier never
 * does HTTP itself.
 *
 * ```ts
 * import type { NotifierDefinition } from "switchyard";
 * export default (() => ({
 *   body: (c) => ({ text: c.message }),
 * })) satisfies NotifierDefinition;
 * ```
 */
import type { IntegrationContext } from "./context.ts";

/** How urgent a notification is; `high` and `urgent` show in an email's subject. */
export type NotificationPriority = "low" | "normal" | "high" | "urgent";

/** What a notification says, channel-independent (the request's fields, checked). */
export interface NotificationContent {
  /** The text: not blank, at most 40 000 characters. */
  message: string;
  priority: NotificationPriority;
  /**
   * Up to 100 items of any JSON, as the caller sent them; each channel decides how they
   * show (an object as-is, anything else as text is the house habit).
   */
  attachments: unknown[];
}

/** A notification channel an integration adds. */
export interface Notifier {
  /**
   * The channel's name as callers pass it in `channel`; default the folder name. Letters,
   * digits, `_` and `-`, at most 64; never `email` or `webhook` (core's own).
   */
  channel?: string;
  /**
   * Optional: refuses content the provider would refuse, before anything is stored (the
   * API answers 422 with the reason) instead of the delivery dying in the outbox later.
   * Called at request time.
   * @returns null when the content can be sent, else a short reason naming the limit
   */
  check?(content: NotificationContent): string | null;
  /**
   * The JSON body POSTed to the request's `webhook_url`. Built once, at request time, and
   * stored with the outbox row (so every retry sends the same bytes): it must hold no
   * secret. Must not throw for content that `check` accepted.
   */
  body(content: NotificationContent): unknown;
  /**
   * Optional: extra request headers, built at each attempt and never stored (so they may
   * carry a token from `ctx.settings`). `content-type` (application/json) and `webhook-id`
   * (the delivery id, stable across retries) are core's and win over these.
   * @param body the stored body of this notification
   */
  headers?(body: unknown): Record<string, string>;
}

/**
 * `notifier.ts`: built once with the folder's `ctx` at load (and again when the folder
 * reloads); registered as the notification channel `<name>` (or `notifier.channel`).
 */
export type NotifierDefinition = (ctx: IntegrationContext) => Notifier;
