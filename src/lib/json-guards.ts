/** Guards on JSON values that both stores and every door apply alike. */

/**
 * Deepest nesting of objects and arrays a JSON body may have. Deeper bodies are refused
 * with 400 before parsing: nothing switchyard accepts needs more, and storing or
 * serialising a body thousands of levels deep overflows the stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether the JSON text in `raw` opens more than `max` objects/arrays inside each other.
 * One pass over the bytes, skipping strings (and escapes inside them); it does not
 * validate the JSON (the parser does that next).
 */
export function jsonDepthExceeds(raw: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * The path (`a.b.0`) of the first string or key in `value` that holds a NUL character, or
 * undefined when there is none. PostgreSQL cannot store NUL in text or JSON, so both stores
 * refuse it alike, at the door. Recursion is bounded by {@link MAX_JSON_DEPTH}.
 */
export function nulPath(value: unknown, path: string): string | undefined {
  const join = (k: string | number) => (path === "" ? String(k) : `${path}.${k}`);
  if (typeof value === "string") return value.includes("\0") ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], join(i));
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes("\0")) return join(k.replaceAll("\0", "\\u0000"));
      const found = nulPath(v, join(k));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
