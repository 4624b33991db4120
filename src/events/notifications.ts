/**
 * Notifications (seed 003 `sendNotification`): a message to an incoming-webhook URL of a
 * chat channel, to any webhook, or by email. Which channels exist is the
 * {@link NotifierRegistry}'s live list: core's `email` and `webhook`, plus each integration
 * folder's `notifier.ts`, whose notifier builds the JSON body (core sends it). Each one is
 * written to the history, then sent through the outbox (DESIGN §6):
 * `DeliveryWorker.sendNow` makes the first attempt inline (with `retry_count` inline
 * retries, `timeout_ms` each); a failure stays in the outbox on its durable schedule, and
 * the history's `delivered` flag turns true when a later attempt succeeds. HTTP goes
 * through the one {@link OutboundHttpClient}; mail through nodemailer
 * (https://nodemailer.com/smtp/) when `SMTP_URL` is set.
 *
 * Email recipient: `webhook_url` as `mailto:addr` or a plain address, else `SMTP_TO`.
 * Without `SMTP_URL` an email is kept in the history with `delivered: false` and the reason.
 * What a request may be (fields, bounds, the check) is ./notification-input.ts.
 */
import type { Logger } from "pino";
import { redactUrl } from "../lib/redact.ts";
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import type { DeliverySender } from "../outbox/outcomes.ts";
import { assertUrlAllowed, type Resolver, UrlNotAllowedError } from "../outbox/ssrf.ts";
import type { DeliveryWorker } from "../outbox/worker.ts";
import { DeliveryError } from "../sdk/errors.ts";
import type { Delivery } from "../store/deliveries.ts";
import type { Store } from "../store/index.ts";
import type { Notification } from "../store/notifications.ts";
import {
  checkNotification,
  DEFAULT_NOTIFY_RETRIES,
  DEFAULT_NOTIFY_TIMEOUT_MS,
  invalidNotification,
} from "./notification-input.ts";
import { type MailContent, mailContent, type SmtpSettings, sendMail } from "./notification-mail.ts";
import { EMAIL_CHANNEL, type NotifierRegistry } from "./notifier-registry.ts";
import type { NotificationRecord, NotificationResult, NotifyInput } from "./outbound-types.ts";

export {
  DEFAULT_NOTIFY_RETRIES,
  DEFAULT_NOTIFY_TIMEOUT_MS,
  NOTIFY_LIMITS,
  unknownChannel,
} from "./notification-input.ts";
export type { SmtpSettings } from "./notification-mail.ts";

/** The outbox target type of notifications. */
export const NOTIFICATION_TARGET = "notification";
/** Options of {@link NotificationService}. */
export interface NotificationServiceOptions {
  store: Store;
  http: OutboundHttpClient;
  deliveryWorker: Pick<DeliveryWorker, "sendNow">;
  log: Logger;
  /** The channels: core's and those the integrations' `notifier.ts` add. */
  notifiers: NotifierRegistry;
  smtp?: SmtpSettings;
  /** `SWITCHYARD_ALLOW_PRIVATE_URLS`: skip the request-time SSRF check. */
  allowPrivate: boolean;
  /** Resolver for the request-time SSRF check; default the system resolver. */
  resolver?: Resolver;
  /** Counts each notification by channel and inline outcome. */
  metrics?: { notification(channel: string, delivered: boolean): void };
  /** First inline retry delay for SMTP, ms, doubled per retry (default 100). */
  smtpRetryDelayMs?: number;
}

/** The wire shape of a history entry; `meta.delivery` is the outbox row's live state. */
export function notificationRecord(n: Notification): NotificationRecord {
  const meta: Record<string, unknown> = { ...n.meta };
  if (n.deliveryId) {
    meta.delivery_id = n.deliveryId;
    if (n.delivery) {
      meta.delivery = {
        status: n.delivery.status,
        attempts: n.delivery.attempts,
        http_status: n.delivery.lastStatus,
        ...(n.delivery.lastError ? { error: n.delivery.lastError } : {}),
        delivered_at: n.delivery.deliveredAt
          ? new Date(n.delivery.deliveredAt).toISOString()
          : null,
      };
    }
  }
  return {
    id: n.id,
    channel: n.channel,
    message: n.message,
    priority: n.priority,
    delivered: n.delivered,
    created_at: new Date(n.createdAt).toISOString(),
    meta,
  };
}

/** Sends notifications and keeps their history. */
export class NotificationService {
  readonly #o: NotificationServiceOptions;
  /** Inline HTTP/SMTP attempts of sends in progress here, by notification id. */
  readonly #inline = new Map<string, { attempts: number }>();

  constructor(opts: NotificationServiceOptions) {
    this.#o = opts;
  }

  /**
   * The outbox sender for target type {@link NOTIFICATION_TARGET}: register it with
   * `deliveryWorker.registerSender`. Resolves when the receiver took it (and marks the
   * notification delivered); throws a {@link DeliveryError} otherwise (retryable or not).
   */
  readonly sender: DeliverySender = (d, signal) => this.#send(d, signal);

  /**
   * Sends a notification (seed 003 `sendNotification`) and records it.
   * `success` is true when it was delivered or is queued for a retry, false when it is
   * dead (e.g. 4xx, destination refused) or could not be sent (email without SMTP_URL).
   * @throws OutboundInputError 422 for bad input (see the checks) or a destination the SSRF
   *   policy refuses; database errors propagate
   */
  async notify(input: NotifyInput): Promise<NotificationResult> {
    const { store, smtp = {} } = this.#o;
    const c = checkNotification(input, smtp, this.#o.notifiers);
    const content = { message: c.message, priority: c.priority, attachments: c.attachments };
    const notifier = this.#o.notifiers.get(c.channel);
    const refused = notifier?.check?.(content);
    if (refused) throw invalidNotification(`${c.channel}: ${refused}`);
    // Built before anything is stored: a notifier that throws leaves no half-written history.
    const payload = notifier ? { body: notifier.body(content) } : { mail: mailContent(content) };
    if (c.url) {
      try {
        await assertUrlAllowed(c.url, {
          allowPrivate: this.#o.allowPrivate,
          resolver: this.#o.resolver,
        });
      } catch (err) {
        if (err instanceof UrlNotAllowedError) {
          throw invalidNotification(`webhook_url: ${err.message}`);
        }
        throw err;
      }
    }
    const meta: Record<string, unknown> = c.url
      ? { destination: redactUrl(c.url) }
      : { to: c.to ?? null };
    meta.attachments = c.attachments.length;
    const unsent =
      c.channel === EMAIL_CHANNEL && !smtp.url ? "not sent: SMTP_URL is not set" : null;
    if (unsent) meta.error = unsent;
    const id = await store.transaction((tx) =>
      tx.notifications.insert({
        channel: c.channel,
        message: c.message,
        priority: c.priority,
        meta,
      }),
    );
    const base = { notification_id: id, channel: c.channel, priority: c.priority };

    if (unsent) {
      this.#o.metrics?.notification(c.channel, false);
      return {
        success: false,
        delivered: false,
        ...base,
        delivery: {
          delivery_id: null,
          status: "not_sent",
          http_status: null,
          attempts: 0,
          error: unsent,
        },
      };
    }

    const common = { channel: c.channel, timeout_ms: c.timeoutMs, retry_count: c.retries };
    const track = { attempts: 0 };
    this.#inline.set(id, track);
    let sent: Awaited<ReturnType<DeliveryWorker["sendNow"]>>;
    try {
      sent = await this.#o.deliveryWorker.sendNow({
        targetType: NOTIFICATION_TARGET,
        target: c.url ? { ...common, url: c.url } : { ...common, to: c.to },
        payload: { notification_id: id, ...payload },
      });
    } finally {
      this.#inline.delete(id);
    }
    const { delivery, outcome } = sent;
    await store.notifications.setDelivery(id, delivery.id);
    const delivered = outcome.status === "delivered";
    this.#o.metrics?.notification(c.channel, delivered);
    return {
      success: outcome.status !== "dead",
      delivered,
      ...base,
      delivery: {
        delivery_id: delivery.id,
        status: outcome.status,
        http_status: outcome.httpStatus,
        attempts: track.attempts,
        ...(outcome.error ? { error: outcome.error } : {}),
      },
    };
  }

  /**
   * The history, newest first.
   * @param limit entries, 1…200 (default 200)
   */
  async list(limit?: number): Promise<NotificationRecord[]> {
    return (await this.#o.store.notifications.list(limit)).map(notificationRecord);
  }

  /** One attempt of a notification delivery (inline or from the outbox schedule). */
  async #send(d: Delivery, signal: AbortSignal): Promise<{ httpStatus?: number }> {
    const id = String(d.payload.notification_id ?? "");
    const track = this.#inline.get(id);
    const t = d.target;
    const timeoutMs = typeof t.timeout_ms === "number" ? t.timeout_ms : DEFAULT_NOTIFY_TIMEOUT_MS;
    const retries = typeof t.retry_count === "number" ? t.retry_count : DEFAULT_NOTIFY_RETRIES;
    let httpStatus: number | undefined;
    if (t.channel === EMAIL_CHANNEL) {
      const smtp = this.#o.smtp ?? {};
      if (!smtp.url) throw new DeliveryError("SMTP_URL is not set", { retryable: false });
      const r = await sendMail({
        smtpUrl: smtp.url,
        from: smtp.from ?? "switchyard@localhost",
        to: String(t.to ?? ""),
        mail: d.payload.mail as MailContent,
        messageId: `<${d.id}@switchyard>`,
        timeoutMs,
        retries,
        retryDelayMs: this.#o.smtpRetryDelayMs ?? 100,
        signal,
      });
      if (track) track.attempts = r.attempts;
      if (!r.ok) throw new DeliveryError(r.error, { retryable: r.retryable });
    } else {
      if (typeof t.url !== "string") {
        throw new DeliveryError("notification has no URL", { retryable: false });
      }
      const channel = String(t.channel);
      const notifier = this.#o.notifiers.get(channel);
      if (!notifier) {
        // Its integration folder was removed (or no longer loads) since the row was queued.
        throw new DeliveryError(
          `notification channel "${channel}" is no longer available (no integration provides it); channels: ${this.#o.notifiers.channels().join(", ")}`,
          { retryable: false },
        );
      }
      const extra: Record<string, string> = {};
      try {
        for (const [k, v] of Object.entries(notifier.headers?.(d.payload.body) ?? {})) {
          const name = k.toLowerCase();
          if (name !== "content-type" && name !== "webhook-id") extra[name] = String(v);
        }
      } catch (err) {
        throw new DeliveryError(
          `notification channel "${channel}": headers() failed: ${(err as Error)?.message ?? err}`,
          { retryable: false },
        );
      }
      const res = await this.#o.http.postJson(t.url, d.payload.body, {
        timeoutMs,
        retries,
        signal,
        headers: { ...extra, "webhook-id": d.id },
      });
      if (track) track.attempts = res.attempts;
      if (!res.ok) {
        throw new DeliveryError(res.error ?? `HTTP ${res.status}`, {
          retryable: res.retryable,
          status: res.status,
          retryAfterMs: res.retryAfterMs,
        });
      }
      httpStatus = res.status ?? undefined;
    }
    try {
      await this.#o.store.notifications.markDelivered(id);
    } catch (err) {
      // The outbox row still says delivered, and the history reads it; do not resend.
      this.#o.log.warn(
        { notification_id: id, err: (err as Error).message },
        "notification delivered flag not written",
      );
    }
    return httpStatus === undefined ? {} : { httpStatus };
  }
}
