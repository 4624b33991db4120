/** JSON columns are text in both dialects; these helpers read and write them. */

/** Parses a JSON column, returning `fallback` for NULL or unparsable text. */
export function fromJson<T>(text: string | null | undefined, fallback: T): T {
  if (text == null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Serialises a value for a JSON column; `undefined`/`null` become NULL. */
export function toJson(value: unknown): string | null {
  return value == null ? null : JSON.stringify(value);
}
