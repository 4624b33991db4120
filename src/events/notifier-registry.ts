/**
 * The notification channel registry: channel name → {@link Notifier}. Core's own channels
 * are `email` (a mail over SMTP, no notifier: ./notification-mail.ts) and `webhook`
 * (`{message, attachments}` POSTed to any receiver, seed 003's default shape); every other
 * channel is an integration folder's `notifier.ts`, registered by the integration manager
 * under the source `integration:<name>` and removed when the folder reloads. REST, MCP and
 * the notification service read the live list from here.
 */
import type { Notifier } from "../sdk/notifier.ts";

/** Core's mail channel (SMTP): listed as a channel, but it has no notifier. */
export const EMAIL_CHANNEL = "email";
/** Core's generic HTTP channel. */
export const WEBHOOK_CHANNEL = "webhook";
/** The channels core owns; an integration cannot register these names. */
export const CORE_CHANNELS: readonly string[] = [EMAIL_CHANNEL, WEBHOOK_CHANNEL];

/** A channel name: letters, digits, `_` and `-`, 1–64 characters. */
const CHANNEL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The `webhook` channel: `{message, attachments}`, attachments as the caller sent them. */
export const webhookNotifier: Notifier = {
  body: (c) => ({ message: c.message, attachments: c.attachments }),
};

/** Registry of notification channels. */
export class NotifierRegistry {
  readonly #map = new Map<string, { notifier: Notifier; source: string }>();

  constructor() {
    this.#map.set(WEBHOOK_CHANNEL, { notifier: webhookNotifier, source: "core" });
  }

  /**
   * Registers `notifier` as `channel`.
   * @throws TypeError when the name is not a channel name, is core's (`email`, `webhook`)
   *   or another source's, or the notifier has no `body()` (caught at load, not at delivery)
   */
  register(channel: string, notifier: Notifier, source: string): void {
    if (!CHANNEL_NAME.test(channel)) {
      throw new TypeError(`notification channel "${channel}": use 1–64 letters, digits, _ or -`);
    }
    if (CORE_CHANNELS.includes(channel)) {
      throw new TypeError(`notification channel "${channel}" is core's own`);
    }
    const taken = this.#map.get(channel);
    if (taken && taken.source !== source) {
      throw new TypeError(`notification channel "${channel}" is already ${taken.source}'s`);
    }
    for (const m of ["body", "check", "headers"] as const) {
      const f = (notifier as unknown as Record<string, unknown>)?.[m];
      if (m === "body" ? typeof f !== "function" : f !== undefined && typeof f !== "function") {
        throw new TypeError(`notifier "${channel}": ${m} must be a function`);
      }
    }
    this.#map.set(channel, { notifier, source });
  }

  /** Removes every channel registered from `source` (before an integration reloads). */
  unregisterSource(source: string): void {
    for (const [channel, v] of this.#map) if (v.source === source) this.#map.delete(channel);
  }

  /** True when `channel` can be sent to now (`email` included). */
  has(channel: string): boolean {
    return channel === EMAIL_CHANNEL || this.#map.has(channel);
  }

  /** The notifier of an HTTP channel; undefined for `email` and for an unknown channel. */
  get(channel: string): Notifier | undefined {
    return this.#map.get(channel)?.notifier;
  }

  /** Every channel name, sorted (`email` and `webhook` included). */
  channels(): string[] {
    return [EMAIL_CHANNEL, ...this.#map.keys()].sort();
  }

  /** Every channel with its source (`core` or `integration:<name>`), sorted by name. */
  list(): Array<{ channel: string; source: string }> {
    return [
      { channel: EMAIL_CHANNEL, source: "core" },
      ...[...this.#map].map(([channel, v]) => ({ channel, source: v.source })),
    ].sort((a, b) => a.channel.localeCompare(b.channel));
  }
}
