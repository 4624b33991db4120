/**
 * Webhook signature check and body decoding.
 *
 * GitHub signs the raw body with HMAC-SHA256 and the webhook secret and sends
 * `X-Hub-Signature-256: sha256=<64 hex digits>`
 * (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
 * The check is the server's `ctx.verify.hmac` (constant-time compare) over the exact bytes
 * received, decoded strictly as UTF-8 (GitHub sends UTF-8; a body that is not cannot carry
 * a valid signature, and a strict decode means no two byte strings verify as the same
 * text). Nothing here imports a package, so the folder works wherever it is on disk.
 */
import type { IntegrationVerify, Verification } from "switchyard";

/** The header GitHub signs with. */
const HEADER = "X-Hub-Signature-256";

/**
 * Verifies `header` (the X-Hub-Signature-256 value) over `raw` with `secret`. The reason of
 * a refusal names the problem ("missing X-Hub-Signature-256", "more than one …",
 * "malformed …" — anything but `sha256=` and 64 lower-case hex digits —, "empty body",
 * "body is not UTF-8", "signature mismatch"), never the signature or the secret.
 */
export function verifySignature(
  verify: IntegrationVerify,
  secret: string,
  raw: Buffer | undefined,
  header: string | string[] | undefined,
): Verification {
  return verify.hmac({
    secret,
    body: raw,
    signature: header,
    algorithm: "sha256",
    encoding: "hex",
    prefix: "sha256=",
    headerName: HEADER,
  });
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
