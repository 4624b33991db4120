/**
 * What the model sees of a message's attachments (`metadata.attachments`, each resolved in
 * the message's session scope, so an id from elsewhere is never read):
 * - an image the model can take (`image/png`, `image/jpeg`, `image/gif`, `image/webp`) →
 *   an image part with its bytes;
 * - a text file (`text/*`, JSON, XML, YAML, CSV…) → its text inline, after a header line,
 *   cut at {@link MAX_INLINE_CHARS} characters with a line saying so;
 * - anything else → one line with its name, type and size (the bytes are not sent);
 * - an id that no longer resolves → one line saying it is not available.
 * A message without attachments keeps its plain string content.
 */
import type { ImagePart, TextPart, UserContent } from "ai";
import type { AttachmentStore, ResolvedAttachment } from "../sdk/attachments.ts";
import type { OwnerScope } from "../sdk/scopes.ts";

/** Longest text file shown inline, characters. */
export const MAX_INLINE_CHARS = 20_000;

/** Image types passed to the model as image parts. */
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** Media types shown inline as text (besides `text/*`). */
const TEXT_TYPES = new Set([
  "application/json",
  "application/xml",
  "application/yaml",
  "application/x-yaml",
  "application/javascript",
  "application/typescript",
  "application/x-sh",
  "application/sql",
  "application/toml",
]);

/** True for media types shown inline as text. */
export function isTextType(mediaType: string): boolean {
  return mediaType.startsWith("text/") || TEXT_TYPES.has(mediaType) || mediaType.endsWith("+json");
}

/** The ids a message's `metadata.attachments` lists (entries without a string id are skipped). */
export function attachmentIdsOf(metadata: Record<string, unknown> | undefined): string[] {
  const list = metadata?.attachments;
  if (!Array.isArray(list)) return [];
  return list
    .map((a) => (a && typeof a === "object" ? (a as { id?: unknown }).id : undefined))
    .filter((id): id is string => typeof id === "string" && id.length > 0);
}

/** Reads at most `limit` bytes of `data` (stops reading there). */
async function readUpTo(data: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of data) {
    const b = Buffer.from(chunk);
    parts.push(b.subarray(0, limit - n));
    n += Math.min(b.length, limit - n);
    if (n >= limit) break;
  }
  return Buffer.concat(parts);
}

const describe = (a: { id: string; name: string; mediaType: string; bytes: number }) =>
  `${a.name} (${a.mediaType}, ${a.bytes} bytes; id ${a.id})`;

/** The model parts of one resolved attachment. */
async function partsOf(a: ResolvedAttachment): Promise<Array<TextPart | ImagePart>> {
  if (IMAGE_TYPES.has(a.mediaType)) {
    const bytes = await readUpTo(a.data(), a.bytes);
    return [
      { type: "text", text: `[Attached image ${describe(a)}]` },
      // Base64, not bytes: a parked turn's messages are stored as JSON (approvals/turn.ts).
      { type: "image", image: bytes.toString("base64"), mediaType: a.mediaType },
    ];
  }
  if (isTextType(a.mediaType)) {
    // UTF-8 takes at most 4 bytes a character: this many bytes hold the cap and more.
    const bytes = await readUpTo(a.data(), MAX_INLINE_CHARS * 4);
    let text = bytes.toString("utf8");
    let cut = bytes.length < a.bytes;
    if (text.length > MAX_INLINE_CHARS) {
      text = text.slice(0, MAX_INLINE_CHARS);
      cut = true;
    }
    const note = cut
      ? `\n[Cut: only the first ${text.length} characters of ${a.bytes} bytes are shown]`
      : "";
    return [{ type: "text", text: `[Attached file ${describe(a)}]\n${text}${note}` }];
  }
  return [
    {
      type: "text",
      text: `[Attached file ${describe(a)}: its contents are not shown to the model]`,
    },
  ];
}

/**
 * The content of a user message for the model: `text` alone when the message has no
 * attachments, else `text` followed by each attachment's parts.
 * @param scope the message's session scope: attachments are resolved only there
 */
export async function userContentOf(
  store: Pick<AttachmentStore, "resolve">,
  text: string,
  metadata: Record<string, unknown> | undefined,
  scope: OwnerScope,
): Promise<UserContent> {
  const ids = attachmentIdsOf(metadata);
  const failed = Array.isArray(metadata?.attachments_failed)
    ? (metadata.attachments_failed as Array<{ name?: unknown; reason?: unknown }>)
    : [];
  if (!ids.length && !failed.length) return text;
  const parts: Array<TextPart | ImagePart> = [{ type: "text", text }];
  for (const id of ids) {
    const a = await store.resolve({ id }, scope);
    if (!a) {
      parts.push({ type: "text", text: `[Attached file ${id}: not available]` });
      continue;
    }
    try {
      parts.push(...(await partsOf(a)));
    } catch {
      parts.push({ type: "text", text: `[Attached file ${describe(a)}: could not be read]` });
    }
  }
  for (const f of failed) {
    parts.push({
      type: "text",
      text: `[Attached file ${String(f?.name ?? "?")}: could not be fetched (${String(f?.reason ?? "unknown reason")})]`,
    });
  }
  return parts;
}
