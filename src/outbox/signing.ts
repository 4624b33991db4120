/**
 * Signing of outbound event deliveries (DESIGN.md §6, REFERENCE.md "Outbound"):
 *
 * - `X-AMS-Signature: hex(HMAC-SHA256(secret, body))` — seed 003's scheme; the key is the
 *   secret's UTF-8 bytes exactly as registered.
 * - Standard Webhooks (https://www.standardwebhooks.com, spec §"Signature scheme"):
 *   `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64
 *   HMAC-SHA256 of "{id}.{timestamp}.{body}">`, computed by the `standardwebhooks`
 *   library. A secret starting with `whsec_` is the base64 key the spec defines (as Svix
 *   issues them); any other secret is used as raw UTF-8 key bytes.
 *
 * Without a secret a delivery still carries `webhook-id` (the receiver's idempotency key)
 * and `webhook-timestamp`, but no signature headers: there is nothing to sign with, and a
 * made-up key would only give receivers a false sense of authenticity.
 */
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { IntegrationSign } from "../sdk/http.ts";

/** Prefix of a Standard Webhooks base64 secret. */
const WHSEC_PREFIX = "whsec_";

/** `hex(HMAC-SHA256(secret, body))`, the `X-AMS-Signature` value (seed 003). */
export function amsSignature(secret: string, body: string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/**
 * The `standardwebhooks` signer for `secret`: `whsec_<base64>` is decoded as the spec
 * says; anything else is used as raw UTF-8 bytes (`format: "raw"`).
 * @throws Error when a `whsec_` secret is not valid base64 or decodes to nothing (the
 *   message never contains the secret)
 */
export function standardWebhookSigner(secret: string): Webhook {
  if (secret.startsWith(WHSEC_PREFIX)) {
    try {
      return new Webhook(secret);
    } catch {
      throw new Error("a secret starting with whsec_ must be followed by a non-empty base64 key");
    }
  }
  return new Webhook(Buffer.from(secret, "utf8"), { format: "raw" });
}

/**
 * Checks that `secret` can sign (see {@link standardWebhookSigner}).
 * @returns null when usable, else a secret-free reason
 */
export function secretProblem(secret: string): string | null {
  if (secret.length === 0) return "secret must not be empty";
  try {
    standardWebhookSigner(secret);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The signature headers of one attempt. Call it afresh for every attempt (retries and
 * replays): `webhook-id` stays the same, `webhook-timestamp` and the signatures are new.
 *
 * @param msgId the delivery id (stable across retries and replays)
 * @param body the exact bytes sent, as a string
 * @param secret the subscription's secret, or null for unsigned deliveries
 * @param now the attempt time (default now)
 * @returns lower-case header names: `webhook-id`, `webhook-timestamp`, and with a secret
 *   `webhook-signature` and `x-ams-signature`
 */
export function signatureHeaders(
  msgId: string,
  body: string,
  secret: string | null,
  now: Date = new Date(),
  signer: Webhook | null = secret ? standardWebhookSigner(secret) : null,
): Record<string, string> {
  const headers: Record<string, string> = {
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
  };
  if (secret && signer) {
    headers["webhook-signature"] = signer.sign(msgId, now, body);
    headers["x-ams-signature"] = amsSignature(secret, body);
  }
  return headers;
}

/** `ctx.sign`: Standard Webhooks headers only (no `x-ams-signature`), for integrations. */
export const integrationSign: IntegrationSign = {
  standardWebhooks(msgId, body, secret) {
    const { "x-ams-signature": _ams, ...headers } = signatureHeaders(msgId, body, secret);
    return headers;
  },
};
