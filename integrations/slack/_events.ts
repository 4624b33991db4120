/**
 * Slack Events API envelopes → the adapter's one normalized input.
 *
 * Handled (https://api.slack.com/apis/events-api#callback-field):
 * - `app_mention` (https://api.slack.com/events/app_mention): a mention in a channel, a
 *   group conversation with one session per thread: a top-level mention starts the thread
 *   of its own `ts`, a mention inside a thread belongs to its `thread_ts`;
 * - `message` with `channel_type: "im"` (https://api.slack.com/events/message.im): a direct
 *   message, no mention needed; the DM is one session (per thread where the user threads);
 * - other `message` events (channels, private channels, group DMs): passed with
 *   `mentioned: false`, so a channel with `passive_memory` keeps them and others ignore
 *   them. One that mentions the bot is skipped: Slack sends it again as `app_mention`.
 *
 * Messages with `bot_id`, subtype `bot_message` or the bot's own user id are marked
 * `isBot` (core ignores them); edits, deletions, joins and other subtypes are skipped.
 * The dedupe key is the envelope's `event_id`; `replyTo` is the message's `ts` (the
 * reaction goes there). `new` after a mention, or `/new`, is passed as `/new`.
 */
import type { AdapterInput, AttachmentRef } from "switchyard";
import { mentionsUser, stripLeadingMention } from "./_text.ts";

/** The parts of an `event_callback` envelope read here. */
export interface SlackEnvelope {
  type?: string;
  team_id?: string;
  event_id?: string;
  event_time?: number;
  authorizations?: Array<{ user_id?: string; is_bot?: boolean; team_id?: string }>;
  event?: SlackEvent;
}

/** The parts of an inner event read here. */
export interface SlackEvent {
  type?: string;
  subtype?: string;
  channel?: string;
  channel_type?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  team?: string;
  files?: Array<{ id?: string; name?: string; mimetype?: string; size?: number }>;
}

/** Message subtypes that still carry a person's words. */
const USER_SUBTYPES = new Set([undefined, "thread_broadcast", "file_share", "bot_message"]);

/**
 * The bot's own Slack user id, as the envelope says (`authorizations`, the installation the
 * event was sent for: its `is_bot` entry). Undefined when it has none (a user install):
 * the caller falls back to `auth.test`.
 */
export function botUserIdOf(env: SlackEnvelope): string | undefined {
  const auths = Array.isArray(env.authorizations) ? env.authorizations : [];
  const id = auths.find((a) => a?.is_bot === true)?.user_id;
  return typeof id === "string" && id ? id : undefined;
}

/** Why an event is not passed on (answered 200 all the same). */
export type Skip = { skip: string };

/**
 * The adapter input of an `event_callback` envelope, or why it is skipped.
 * @param env the parsed, verified envelope
 * @param botUserId the bot's own Slack user id (`authorizations`, else `auth.test`)
 */
export function toInput(env: SlackEnvelope, botUserId: string | undefined): AdapterInput | Skip {
  const ev = env.event;
  if (!ev || typeof ev !== "object") return { skip: "no event" };
  const eventId = env.event_id;
  if (typeof eventId !== "string" || !eventId) return { skip: "no event_id" };
  const channel = ev.channel;
  if (typeof channel !== "string" || !channel) return { skip: "no channel" };
  if (ev.type !== "app_mention" && ev.type !== "message") return { skip: `event ${ev.type}` };
  if (!USER_SUBTYPES.has(ev.subtype)) return { skip: `subtype ${ev.subtype}` };
  const raw = typeof ev.text === "string" ? ev.text : "";
  const ts = typeof ev.ts === "string" && ev.ts ? ev.ts : undefined;
  const threadTs = typeof ev.thread_ts === "string" && ev.thread_ts ? ev.thread_ts : undefined;
  const direct = ev.type === "message" && ev.channel_type === "im";
  const mentioned = ev.type === "app_mention";
  if (ev.type === "message" && !direct && botUserId && mentionsUser(raw, botUserId)) {
    return { skip: "mention (handled as app_mention)" };
  }
  const author = typeof ev.user === "string" && ev.user ? ev.user : (ev.bot_id ?? "unknown");
  const isBot =
    Boolean(ev.bot_id) ||
    ev.subtype === "bot_message" ||
    (botUserId !== undefined && ev.user === botUserId);
  // A mention starts (or continues) a thread: its session is per thread.
  const thread = mentioned ? (threadTs ?? ts) : threadTs;
  let text = mentioned ? stripLeadingMention(raw) : raw.trim();
  if (/^\/?new$/i.test(text) && (mentioned || text.startsWith("/"))) text = "/new";
  const attachments: AttachmentRef[] = (Array.isArray(ev.files) ? ev.files : [])
    .filter((f) => typeof f?.id === "string")
    .map((f) => ({
      name: typeof f.name === "string" ? f.name : f.id!,
      ...(typeof f.mimetype === "string" ? { mediaType: f.mimetype } : {}),
      ...(Number.isInteger(f.size) && f.size! >= 0 ? { bytes: f.size } : {}),
      ref: f.id!,
    }));
  const team = typeof env.team_id === "string" && env.team_id ? env.team_id : undefined;
  return {
    conversation: { ...(team ? { team } : {}), channel, ...(thread ? { thread } : {}) },
    author: { id: author, isBot },
    text,
    mentioned,
    direct,
    deliveryId: eventId,
    ...(ts ? { replyTo: ts } : {}),
    ...(attachments.length ? { attachments } : {}),
    metadata: {
      slack: {
        event_type: ev.type,
        ...(ev.channel_type ? { channel_type: ev.channel_type } : {}),
        ...(ts ? { ts } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
      },
    },
  };
}
