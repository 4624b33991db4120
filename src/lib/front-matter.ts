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

/**
 * What is wrong with a skill file's front matter, or undefined when it names both `name`
 * and `description`. The one rule the loader, `integrations check` and the skill sync all
 * apply: such a skill is still loaded and synced (named after its file's stem, with an
 * empty description), and each of them reports this text as a warning, not an error.
 */
export function skillFrontMatterWarning(text: string): string | undefined {
  const fm = parseFrontMatter(text);
  if (!fm) {
    return "skill has no front matter (a --- block with name and description): it is named after its file and has no description";
  }
  const missing = ["name", "description"].filter((k) => !fm[k]);
  if (missing.length === 0) return undefined;
  const fallback = missing.includes("name") ? "it is named after its file" : "";
  const empty = missing.includes("description") ? "it has no description" : "";
  return `skill front matter has no ${missing.join(" or ")}: ${[fallback, empty].filter(Boolean).join(" and ")}`;
}
