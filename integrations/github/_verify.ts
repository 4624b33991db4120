/**
 * Webhook signature check and body decoding.
 *
 * GitHub signs the raw body with HMAC-SHA256 and the webhook secret and sends
 * `X-Hub-Signature-256: sha256=<64 hex digits>`
 * (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
 * The check uses `verify` from @octokit/webhooks-methods (constant-time compare) over the
 * exact bytes received, decoded strictly as UTF-8 (GitHub sends UTF-8; a body that is not
 * cannot carry a valid signature, and a strict decode means no two byte strings verify as
 * the same text).
 */
import { verify } from "@octokit/webhooks-methods";

const SIGNATURE_RE = /^sha256=[0-9a-f]{64}$/;

/** The outcome of {@link verifySignature}: the verified body text, or why it was refused. */
export type Verification = { ok: true; text: string } | { ok: false; reason: string };

/**
 * Verifies `header` (the X-Hub-Signature-256 value) over `raw` with `secret`. The reason of
 * a refusal names the problem, never the signature or the secret.
 */
export async function verifySignature(
  secret: string,
  raw: Buffer | undefined,
  header: string | string[] | undefined,
): Promise<Verification> {
  if (header === undefined) return { ok: false, reason: "missing X-Hub-Signature-256" };
  if (Array.isArray(header)) return { ok: false, reason: "more than one X-Hub-Signature-256" };
  if (!SIGNATURE_RE.test(header)) return { ok: false, reason: "malformed X-Hub-Signature-256" };
  if (!raw || raw.length === 0) return { ok: false, reason: "empty body" };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    return { ok: false, reason: "body is not UTF-8" };
  }
  if (!(await verify(secret, text, header))) return { ok: false, reason: "signature mismatch" };
  return { ok: true, text };
}

/**
 * The event payload of a verified body: JSON, or for the `application/x-www-form-urlencoded`
 * content type GitHub also offers, the JSON in its `payload` field.
 * @returns the payload object, or undefined when the body is not a JSON object
 */
export function parsePayload(
  text: string,
  contentType: string | undefined,
): Record<string, unknown> | undefined {
  let json = text;
  if (contentType?.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    json = new URLSearchParams(text).get("payload") ?? "";
  }
  try {
    const v: unknown = JSON.parse(json);
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
