/** The `---`-fenced front matter of a Markdown file (skills): flat `key: value` lines. */

/**
 * The front matter of `text` as a flat object of strings (quotes around a value are
 * removed; nested YAML is not interpreted), or null when the file does not start with a
 * `---` … `---` block.
 */
export function parseFrontMatter(text: string): Record<string, string> | null {
  const m = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) return null;
  const out: Record<string, string> = {};
  for (const line of m[1]!.split(/\r?\n/)) {
    const kv = /^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*)$/.exec(line);
    if (kv) out[kv[1]!] = kv[2]!.trim().replace(/^(["'])(.*)\1$/, "$2");
  }
  return out;
}
