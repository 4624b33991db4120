/**
 * The email notification channel: a plain-text mail (subject + body, {@link mailContent})
 * sent over SMTP with nodemailer (https://nodemailer.com/smtp/), {@link sendMail}. The HTTP
 * channels' bodies are notifiers (./notifier-registry.ts and integration folders).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { NotificationContent } from "../sdk/notifier.ts";

/** SMTP settings: `SMTP_URL` (may hold a password — never echoed), `SMTP_FROM`, `SMTP_TO`. */
export interface SmtpSettings {
  url?: string;
  /** Sender address; default `switchyard@localhost`. */
  from?: string;
  /** Recipient when a notification names none. */
  to?: string;
}

/** A plain-text mail. */
export interface MailContent {
  subject: string;
  text: string;
  /** nodemailer's `priority` (sets X-Priority / Importance headers). */
  priority: "high" | "normal" | "low";
}

/** Longest subject line, in characters (the rest of the message stays in the body). */
const SUBJECT_MAX = 120;

/**
 * The mail for the email channel: subject `[switchyard] <first line>` (prefixed with the
 * priority when it is high or urgent), body = the message, then each attachment as JSON.
 */
export function mailContent(c: NotificationContent): MailContent {
  const firstLine = c.message.split(/\r?\n/, 1)[0]!.trim() || "notification";
  const urgent = c.priority === "high" || c.priority === "urgent";
  let subject = `[switchyard]${urgent ? ` [${c.priority.toUpperCase()}]` : ""} ${firstLine}`;
  if (subject.length > SUBJECT_MAX) subject = `${subject.slice(0, SUBJECT_MAX - 1)}…`;
  const parts = [c.message];
  if (c.attachments.length) {
    parts.push("", "Attachments:");
    for (const a of c.attachments) {
      parts.push(typeof a === "string" ? a : JSON.stringify(a, null, 2));
    }
  }
  return {
    subject,
    text: `${parts.join("\n")}\n`,
    priority: urgent ? "high" : c.priority === "low" ? "low" : "normal",
  };
}

/** What {@link sendMail} sends, and how hard it tries. */
export interface SendMailOptions {
  /** `smtp://[user:pass@]host[:port]` or `smtps://…` (nodemailer's connection URL). */
  smtpUrl: string;
  from: string;
  to: string;
  mail: MailContent;
  /** Message-ID, kept across retries so receivers can drop duplicates, e.g. `<id@switchyard>`. */
  messageId: string;
  /** Limit of one attempt in ms (connect, greeting, each command, and the whole send). */
  /** Stops sending (and retrying) when aborted, e.g. before the delivery's lease ends. */
  signal?: AbortSignal;
  timeoutMs: number;
  /** Inline retries after the first attempt, for transient failures only. */
  retries: number;
  /** First retry delay in ms, doubled per retry. */
  retryDelayMs: number;
}

/** Outcome of {@link sendMail}: `error` is secret-free (never the SMTP URL or its password). */
export type SendMailResult =
  | { ok: true; attempts: number }
  | { ok: false; attempts: number; retryable: boolean; error: string };

/** nodemailer error codes of failures that may pass on a later try (network, TLS, protocol). */
const TRANSIENT_CODES = new Set([
  "ECONNECTION",
  "ETIMEDOUT",
  "ESOCKET",
  "EDNS",
  "ETLS",
  "EPROTOCOL",
]);

/** Removes the SMTP URL and its credentials from `text`. */
function scrub(text: string, smtpUrl: string): string {
  const secrets = [smtpUrl];
  try {
    const u = new URL(smtpUrl);
    secrets.push(u.password, u.username, decodeURIComponent(u.password));
    secrets.push(decodeURIComponent(u.username));
  } catch {}
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join("[redacted]");
  return out;
}

/**
 * Sends one plain-text mail through the SMTP server of `smtpUrl`, retrying inline on
 * transient failures: network/TLS/protocol errors and 4xx replies (RFC 5321 §4.2.1,
 * "transient negative completion"). A 5xx reply (e.g. 550 recipient refused, 535 bad
 * login) is permanent: `retryable: false`. A send cut off by `timeoutMs` is not retried
 * inline (the server may have taken it); it is reported retryable for the outbox.
 * Never throws.
 */
export async function sendMail(o: SendMailOptions): Promise<SendMailResult> {
  // Imported on the first mail: a server that sends none never loads nodemailer.
  const { createTransport } = await import("nodemailer");
  let attempts = 0;
  for (let attempt = 0; ; attempt++) {
    attempts++;
    const transport = createTransport({
      url: o.smtpUrl,
      connectionTimeout: o.timeoutMs,
      greetingTimeout: o.timeoutMs,
      socketTimeout: o.timeoutMs,
      dnsTimeout: o.timeoutMs,
      socketCloseTimeout: 0,
    });
    let failure: { retryable: boolean; inline: boolean; error: string };
    try {
      await transport.sendMail({
        from: o.from,
        to: o.to,
        subject: o.mail.subject,
        text: o.mail.text,
        priority: o.mail.priority,
        messageId: o.messageId,
        signal: o.signal
          ? AbortSignal.any([AbortSignal.timeout(o.timeoutMs), o.signal])
          : AbortSignal.timeout(o.timeoutMs),
      });
      return { ok: true, attempts };
    } catch (err) {
      const e = err as { code?: string; responseCode?: number; message?: string };
      const firstLine = String(e.message ?? err)
        .split("\n", 1)[0]!
        .slice(0, 300);
      const what = `${e.code ?? "Error"}${e.responseCode ? ` ${e.responseCode}` : ""}`;
      const error = `SMTP ${what}: ${scrub(firstLine, o.smtpUrl)}`;
      if (e.code === "EABORT") {
        failure = {
          retryable: true,
          inline: false,
          error: `SMTP timed out after ${o.timeoutMs} ms`,
        };
      } else if (e.responseCode && e.responseCode >= 400) {
        const transient = e.responseCode < 500;
        failure = { retryable: transient, inline: transient, error };
      } else {
        const transient = TRANSIENT_CODES.has(e.code ?? "");
        failure = { retryable: transient, inline: transient, error };
      }
    } finally {
      transport.close();
    }
    if (!failure.inline || attempt >= o.retries || o.signal?.aborted) {
      return { ok: false, attempts, retryable: failure.retryable, error: failure.error };
    }
    await sleep(o.retryDelayMs * 2 ** attempt);
  }
}
