/**
 * Discord markdown escaping (https://support.discord.com/hc/en-us/articles/210298617):
 * a backslash before `\`, `*`, `_`, `~`, `` ` ``, `|`, and before `>` or `#`, `-` at the
 * start of a line (quotes, headings, list items), so the text shows as written.
 */

/** `text` with Discord's markdown characters escaped. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\*_~`|]/g, "\\$&").replace(/^([ \t]*)([>#-])/gm, "$1\\$2");
}
