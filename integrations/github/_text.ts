/** Text helpers: cutting long text to a stated size, and the hidden comment markers. */

/**
 * Prefix of the hidden HTML comment every comment posted by this integration carries
 * (GitHub renders nothing for it). The router ignores comment events whose body holds it,
 * so the bot never answers itself even when GITHUB_BOT_LOGIN is not set.
 */
export const MARKER_PREFIX = "<!-- switchyard-github";

/**
 * The marker of part `part` (1-based) of `parts` of delivery `deliveryId`; characters
 * outside `[A-Za-z0-9_.:-]` in the id are dropped so the marker always parses.
 */
export function deliveryMarker(deliveryId: string, part: number, parts: number): string {
  const id = deliveryId.replace(/[^A-Za-z0-9_.:-]/g, "");
  return `${MARKER_PREFIX} delivery=${id} part=${part}/${parts} -->`;
}

/** The marker of a standalone message (postMessage): no delivery id. */
export const MESSAGE_MARKER = `${MARKER_PREFIX} -->`;

/** `text` without this integration's markers (for showing comments to the model). */
export function stripMarkers(text: string): string {
  return text.replace(/\n*<!-- switchyard-github[^>]*-->/g, "");
}

/** Whether `text` holds a marker of this integration. */
export function hasMarker(text: unknown): boolean {
  return typeof text === "string" && text.includes(MARKER_PREFIX);
}

/** Where to cut `text` at or below `max` UTF-16 units without splitting a surrogate pair. */
function safeCut(text: string, max: number): number {
  if (max <= 0 || max >= text.length) return Math.max(0, Math.min(max, text.length));
  const code = text.charCodeAt(max - 1);
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
}

/** Cut of a text: what is kept and whether anything was dropped. */
export interface Truncated {
  text: string;
  truncated: boolean;
  /** Length of the whole text, in characters (UTF-16 units). */
  total_chars: number;
}

/**
 * `text` cut to at most `max` characters (UTF-16 units), at the last line break in the
 * second half of the budget when there is one, with a note saying how much was kept.
 */
export function truncateText(text: string | null | undefined, max: number): Truncated {
  const s = text ?? "";
  if (s.length <= max) return { text: s, truncated: false, total_chars: s.length };
  const note = `\n… [truncated: showing the first ${max} of ${s.length} characters]`;
  let cut = safeCut(s, Math.max(0, max - note.length));
  const nl = s.lastIndexOf("\n", cut);
  if (nl > cut / 2) cut = nl;
  return { text: s.slice(0, cut) + note, truncated: true, total_chars: s.length };
}

/**
 * Splits `text` into parts of at most `max` characters (UTF-16 units, which never
 * undercount GitHub's character limit), cutting at the last line break that fits, or hard
 * at `max` when a single line is longer. Line breaks at the cuts are dropped. Always at
 * least one part; the same text always gives the same parts.
 */
export function splitAtLines(text: string, max: number): string[] {
  if (max < 1) throw new RangeError("max must be ≥ 1");
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const nl = rest.lastIndexOf("\n", max);
    if (nl > 0) {
      parts.push(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    } else {
      const cut = safeCut(rest, max) || max;
      parts.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
  }
  parts.push(rest);
  return parts;
}
