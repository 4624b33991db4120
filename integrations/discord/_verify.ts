/**
 * Checking that an interaction comes from Discord
 * (https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers):
 * `X-Signature-Ed25519` (hex) is an Ed25519 signature, by the application's public key, of
 * `X-Signature-Timestamp` + the raw body. `discord-interactions`' `verifyKey` checks the
 * signature; it does not check freshness, so the timestamp (Unix seconds) must also be
 * within {@link TOLERANCE_SECONDS} of now here, so a captured request cannot be replayed later.
 * Discord sends deliberately bad signatures to check they are refused.
 */
import { verifyKey } from "discord-interactions";

/** Accepted clock difference between the timestamp and now, in seconds (either way). */
export const TOLERANCE_SECONDS = 300;

/** The outcome: the verified body text, or why it was refused (never the signature or key). */
export type Checked = { ok: true; text: string } | { ok: false; reason: string };

const single = (v: string | string[] | undefined) => (typeof v === "string" ? v : undefined);

/**
 * Verifies one interaction request. Resolves (never rejects) with the body as text.
 * @param publicKey the application's public key, hex (32 bytes)
 * @param headers the request headers (names lower-case, as Node gives them)
 * @param body the raw body bytes, exactly as received
 * @param nowMs the current time, ms since the epoch
 */
export async function verifyInteraction(
  publicKey: string | undefined,
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array | undefined,
  nowMs = Date.now(),
): Promise<Checked> {
  if (!publicKey || !/^[0-9a-f]{64}$/i.test(publicKey)) {
    return { ok: false, reason: "DISCORD_PUBLIC_KEY is not set or not 64 hex digits" };
  }
  const signature = single(headers["x-signature-ed25519"]);
  const timestamp = single(headers["x-signature-timestamp"]);
  if (!signature || !timestamp) return { ok: false, reason: "signature headers missing" };
  // verifyKey reads hex leniently ("zz" becomes 0): only a well-formed signature goes to it.
  if (!/^[0-9a-f]{128}$/i.test(signature)) return { ok: false, reason: "malformed signature" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "malformed timestamp" };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) {
    return { ok: false, reason: "timestamp outside the 300 s window" };
  }
  const raw = body ?? new Uint8Array();
  if (!(await verifyKey(raw, signature, timestamp, publicKey))) {
    return { ok: false, reason: "bad signature" };
  }
  return { ok: true, text: new TextDecoder().decode(raw) };
}
