/**
 * Splitting a reply at an adapter's length limit. Cuts fall, in order of preference, at
 * a paragraph break, a line break, a space, and only then inside a word; a cut never
 * separates the two halves of a surrogate pair. Joining the parts with what was cut at
 * gives back the text (whitespace at the cuts is dropped).
 */

/**
 * `text` in parts of at most `max` characters (UTF-16 code units), none empty.
 * @throws RangeError when `max` is below 2
 */
export function splitText(text: string, max: number): string[] {
  if (max < 2) throw new RangeError("max must be at least 2");
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    const window = rest.slice(0, max + 1);
    let cut = -1;
    for (const sep of ["\n\n", "\n", " "]) {
      const at = window.lastIndexOf(sep);
      if (at > max / 4) {
        cut = at;
        break;
      }
    }
    if (cut <= 0) {
      cut = max;
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    }
    const head = rest.slice(0, cut).trimEnd();
    if (head) parts.push(head);
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}
