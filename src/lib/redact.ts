/**
 * Redaction of configuration objects for API responses: secrets are write-only (DESIGN §6).
 * Keys that name a secret become `"****"`; URLs lose everything after the host (webhook
 * URLs often carry a token in their path, query or userinfo).
 */

const SECRET_KEY = /secret|token|password|passwd|api[_-]?key|authorization|credential/i;

/** A copy of `value` safe to return: secret-named keys masked, URLs cut to `scheme://host/…`. */
export function redactConfig(value: unknown, key = ""): unknown {
  if (value == null) return value;
  if (typeof value === "string") {
    if (SECRET_KEY.test(key)) return "****";
    if (/^https?:\/\//i.test(value)) {
      const base = redactUrl(value);
      return value.length > base.length + 1 ? `${base}/…` : base;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, key));
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        SECRET_KEY.test(k) && v != null && typeof v !== "object" ? "****" : redactConfig(v, k),
      ]),
    );
  }
  return value;
}

/**
 * Safe description of a URL for messages and logs: `scheme://host[:port]` only.
 * Userinfo, path, query and fragment are dropped, because webhook URLs often carry their
 * credential in any of them (e.g. `/services/T…/B…/<token>`). Never throws.
 */
export function redactUrl(url: string | URL): string {
  try {
    const u = typeof url === "string" ? new URL(url) : url;
    return `${u.protocol}//${u.host}`;
  } catch {
    return "<invalid URL>";
  }
}
