/**
 * Conversation keys: the client_id of an adapter conversation's session and of its channel
 * row. `<adapter>:<team>:<channel>` names a channel (team empty when the platform has
 * none), and `…:<thread>` one thread in it; each part is escaped so a `:` or `#` inside a
 * provider id cannot make two conversations share a key. A conversation's `/new` starts a
 * new generation of its session, `<key>#<n>`.
 */
import type { Conversation } from "../sdk/adapter.ts";

const part = (s: string) => s.replace(/[%:#]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);

/** The channel key of `conv` (its thread left out). */
export function channelKey(adapter: string, conv: Pick<Conversation, "team" | "channel">): string {
  return `${part(adapter)}:${part(conv.team ?? "")}:${part(conv.channel)}`;
}

/** The session key of `conv`: per thread where there is one, else per channel. */
export function conversationKey(adapter: string, conv: Conversation): string {
  const base = channelKey(adapter, conv);
  return conv.thread ? `${base}:${part(conv.thread)}` : base;
}

/**
 * The prefix of an adapter's settings: its name in upper case, other characters as `_`
 * (`webhook-adapter` → `WEBHOOK_ADAPTER`, so `WEBHOOK_ADAPTER_BOT_ID`).
 */
export function settingsPrefix(adapter: string): string {
  return adapter.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}
