/**
 * Reading an interaction (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object)
 * into what the adapter acts on. Only the fields used are read; anything else is ignored.
 * Interaction types: 1 PING, 2 APPLICATION_COMMAND, 3 MESSAGE_COMPONENT (a button pressed
 * on a message; others are refused politely).
 */
import type { AttachmentRef, Author, Conversation } from "switchyard";

/** Slash command names this adapter answers (registered by `switchyard discord register-commands`). */
export const ASK_COMMAND = "ask";
export const NEW_COMMAND = "new";
/** The option of `/ask` carrying the user's words. */
export const PROMPT_OPTION = "prompt";
/** The optional attachment option of `/ask` (option type 11, ATTACHMENT). */
export const FILE_OPTION = "file";

/** What an interaction asks for. */
export type Interaction =
  | { kind: "ping" }
  | {
      kind: "command";
      /** The interaction id: the dedupe key and the reply's `replyTo`. */
      id: string;
      /** The interaction token: a 15-minute capability, kept in memory only. */
      token: string;
      name: string;
      /** The `prompt` option's value (`/ask`), else "". */
      prompt: string;
      conversation: Conversation;
      author: Author;
      /** No guild: a DM with the bot (or a private channel). */
      direct: boolean;
      /** Files of ATTACHMENT options, by their attachment `url` (not stored). */
      files: AttachmentRef[];
    }
  | {
      kind: "component";
      /** The interaction id. */
      id: string;
      /** The pressed component's `custom_id`. */
      customId: string;
      /** The message the component is on. */
      messageId: string;
      conversation: Conversation;
      author: Author;
    }
  | { kind: "unsupported"; type: unknown };

const isId = (v: unknown): v is string => typeof v === "string" && /^\d{1,25}$/.test(v);

/**
 * The interaction in `text`, or undefined when it is not JSON or lacks what its type needs
 * (the caller answers 400).
 */
export function parseInteraction(text: string): Interaction | undefined {
  let v: any;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  if (v.type === 1) return { kind: "ping" };
  if (v.type !== 2 && v.type !== 3) return { kind: "unsupported", type: v.type };
  const user = v.member?.user ?? v.user;
  const channelId = v.channel_id ?? v.channel?.id;
  if (!isId(v.id) || typeof v.token !== "string" || !v.token) return undefined;
  if (!isId(channelId) || !user || !isId(user.id)) return undefined;
  if (v.guild_id !== undefined && !isId(v.guild_id)) return undefined;
  const data = v.data;
  const name =
    typeof user.global_name === "string" && user.global_name
      ? user.global_name
      : typeof user.username === "string"
        ? user.username
        : undefined;
  const conversation = { ...(v.guild_id ? { team: v.guild_id } : {}), channel: channelId };
  const author = { id: user.id, ...(name ? { displayName: name } : {}), isBot: user.bot === true };
  if (v.type === 3) {
    if (!data || typeof data.custom_id !== "string" || !isId(v.message?.id)) return undefined;
    return {
      kind: "component",
      id: v.id,
      customId: data.custom_id,
      messageId: v.message.id,
      conversation,
      author,
    };
  }
  if (!data || typeof data.name !== "string") return undefined;
  const options: unknown[] = Array.isArray(data.options) ? data.options : [];
  const prompt = options.find(
    (o: any) => o && o.name === PROMPT_OPTION && typeof o.value === "string",
  ) as { value: string } | undefined;
  // ATTACHMENT options name an attachment in `data.resolved.attachments`
  // (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-resolved-data-structure).
  const resolved = data.resolved?.attachments ?? {};
  const files: AttachmentRef[] = [];
  for (const o of options as Array<{ type?: unknown; value?: unknown }>) {
    const a = o?.type === 11 && typeof o.value === "string" ? resolved[o.value] : undefined;
    if (!a || typeof a.url !== "string") continue;
    files.push({
      name: typeof a.filename === "string" ? a.filename : "file",
      ...(typeof a.content_type === "string" ? { mediaType: a.content_type } : {}),
      ...(Number.isSafeInteger(a.size) ? { bytes: a.size } : {}),
      ref: a.url,
    });
  }
  return {
    kind: "command",
    id: v.id,
    token: v.token,
    name: data.name,
    prompt: prompt?.value ?? "",
    conversation,
    author,
    direct: !v.guild_id,
    files,
  };
}
