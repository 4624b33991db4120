/**
 * Redaction of configuration objects for API responses: secrets are write-only (DESIGN §6).
 * Keys that name a secret become `"****"`; URLs lose everything after the host (webhook
 * URLs often carry a token in their path, query or userinfo).
 */

const SECRET_KEY = /secret|token|password|passwd|api[_-]?key|authorization|credential/i;
/** `key` as the last word of a name: `key`, `private_key`, `signing-key`, `privateKey`. */
const KEY_WORD = /(?:^|[_.-])key$/i;
const CAMEL_KEY = /[a-z]Key$/;

/** True when a property name says its value is a secret (see {@link redactConfig}). */
export function isSecretName(name: string): boolean {
  return SECRET_KEY.test(name) || KEY_WORD.test(name) || CAMEL_KEY.test(name);
}

/**
 * A copy of `value` safe to return: every value under a secret-named key (`token`,
 * `access_token`, `secret`, `password`, `api_key`, `apiKey`, `authorization`,
 * `credentials`, `key`, `private_key`…; see {@link isSecretName}) becomes `"****"`, at any
 * depth, through arrays and nested objects alike; URLs elsewhere are cut to
 * `scheme://host/…`.
 */
export function redactConfig(value: unknown, key = ""): unknown {
  if (value == null) return value;
  const secret = key !== "" && isSecretName(key);
  if (typeof value !== "object") {
    if (secret) return "****";
    if (typeof value === "string" && /^https?:\/\//i.test(value)) {
      const base = redactUrl(value);
      return value.length > base.length + 1 ? `${base}/…` : base;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, key));
  // Under a secret-named key every leaf is masked, whatever its own name.
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      redactConfig(v, secret ? key : k),
    ]),
  );
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
