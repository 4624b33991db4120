/**
 * One Telegram update → the adapter handler's input (https://core.telegram.org/bots/api#update,
 * #message, #messageentity). Only `message` updates with text or a caption become input:
 * - a private chat is direct; in groups and supergroups the bot must be mentioned: a
 *   `mention` entity `@<bot username>`, a `text_mention` of the bot, a `bot_command` that
 *   is `/cmd@<bot username>` or `/cmd` with no username (Telegram sends such commands to
 *   every bot in the group), or a reply to one of the bot's messages (not counting the
 *   forum topic's opening message every topic message points at);
 * - the mention is cut from the text (`@bot hello` → `hello`, `/new@bot` → `/new`);
 * - `from.is_bot` marks bots (the bot's own messages and others'): never a turn;
 * - the conversation is the chat, and the forum topic (`message_thread_id` of a message
 *   with `is_topic_message`) its thread;
 * - the delivery id is `<bot id>:<update_id>:<message_id>`: unique per bot and update (the
 *   dedupe key), and carrying the message id the reply quotes.
 * - files: the largest size of a `photo` (`image/jpeg`) and a `document` (its name and
 *   type) become attachment refs by `file_id`; a file without caption is still input
 *   (https://core.telegram.org/bots/api#photosize, #document).
 * Entity offsets and lengths are UTF-16 code units, as JavaScript strings index.
 */
import type { Update } from "grammy/types";
import type { AdapterInput, AttachmentRef } from "switchyard";

/** What the adapter knows about its own bot (from getMe). */
export interface Me {
  id: number;
  username: string;
}

type Entity = { type: string; offset: number; length: number; user?: { id: number } };

/** The message id a delivery id carries, or undefined. */
export function messageIdOf(deliveryId: string | undefined): number | undefined {
  const last = deliveryId?.split(":")[2];
  const n = last ? Number(last) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * The handler input of `update`, or a reason it has none (`not_a_message`, `no_text`).
 */
export function toInput(
  update: Update,
  me: Me,
): { input: AdapterInput } | { skip: "not_a_message" | "no_text" } {
  const m = update.message;
  if (!m) return { skip: "not_a_message" };
  const attachments = filesOf(m);
  const raw = m.text ?? m.caption ?? (attachments.length ? "" : undefined);
  if (typeof raw !== "string") return { skip: "no_text" };
  const entities = ((m.text !== undefined ? m.entities : m.caption_entities) ?? []) as Entity[];
  const handle = `@${me.username}`.toLowerCase();
  const cuts: Array<{ from: number; to: number }> = [];
  let mentioned = false;
  for (const e of entities) {
    const part = raw.slice(e.offset, e.offset + e.length);
    if (e.type === "mention" && part.toLowerCase() === handle) {
      mentioned = true;
      cuts.push({ from: e.offset, to: e.offset + e.length });
    } else if (e.type === "text_mention" && e.user?.id === me.id) {
      mentioned = true;
    } else if (e.type === "bot_command") {
      const at = part.indexOf("@");
      if (at < 0) mentioned = true;
      else if (part.slice(at).toLowerCase() === handle) {
        mentioned = true;
        cuts.push({ from: e.offset + at, to: e.offset + e.length });
      }
    }
  }
  const reply = m.reply_to_message;
  if (reply && !reply.forum_topic_created && reply.from?.id === me.id) mentioned = true;
  let text = raw;
  for (const c of cuts.sort((a, b) => b.from - a.from)) {
    text = text.slice(0, c.from) + text.slice(c.to);
  }
  text = text.replace(/[ \t]{2,}/g, " ").trim();
  const from = m.from;
  const name = from
    ? [from.first_name, from.last_name].filter(Boolean).join(" ") || from.username
    : m.sender_chat && "title" in m.sender_chat
      ? m.sender_chat.title
      : undefined;
  const thread =
    m.is_topic_message && m.message_thread_id !== undefined
      ? String(m.message_thread_id)
      : undefined;
  return {
    input: {
      conversation: { channel: String(m.chat.id), ...(thread ? { thread } : {}) },
      author: {
        id: String(from?.id ?? m.sender_chat?.id ?? m.chat.id),
        ...(name ? { displayName: name.slice(0, 200) } : {}),
        isBot: from?.is_bot === true,
      },
      text,
      mentioned,
      direct: m.chat.type === "private",
      deliveryId: `${me.id}:${update.update_id}:${m.message_id}`,
      ...(attachments.length ? { attachments } : {}),
      metadata: {
        telegram: {
          update_id: update.update_id,
          message_id: m.message_id,
          chat_type: m.chat.type,
          ...(from?.username ? { username: from.username } : {}),
        },
      },
    },
  };
}

/** The files of a message: its largest photo size and its document, by `file_id`. */
function filesOf(m: NonNullable<Update["message"]>): AttachmentRef[] {
  const out: AttachmentRef[] = [];
  const photo = Array.isArray(m.photo) && m.photo.length ? m.photo[m.photo.length - 1] : undefined;
  if (photo?.file_id) {
    out.push({
      name: `photo_${photo.file_unique_id ?? photo.file_id}.jpg`,
      mediaType: "image/jpeg",
      ...(Number.isSafeInteger(photo.file_size) ? { bytes: photo.file_size } : {}),
      ref: photo.file_id,
    });
  }
  const doc = m.document;
  if (doc?.file_id) {
    out.push({
      name: doc.file_name || `document_${doc.file_unique_id ?? doc.file_id}`,
      ...(doc.mime_type ? { mediaType: doc.mime_type } : {}),
      ...(Number.isSafeInteger(doc.file_size) ? { bytes: doc.file_size } : {}),
      ref: doc.file_id,
    });
  }
  return out;
}
