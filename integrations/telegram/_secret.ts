/**
 * The webhook's secret token check (https://core.telegram.org/bots/api#setwebhook:
 * `secret_token` is sent back in `X-Telegram-Bot-Api-Secret-Token`). Compared in constant
 * time over SHA-256 digests, so neither the content nor the length of the secret leaks
 * through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * True when `header` (the request's `X-Telegram-Bot-Api-Secret-Token`) equals `secret`.
 * A missing, repeated or empty header, or no secret, is false.
 */
export function secretTokenMatches(
  header: string | string[] | undefined,
  secret: string | undefined,
): boolean {
  if (!secret || typeof header !== "string" || header.length === 0) return false;
  return timingSafeEqual(digest(header), digest(secret));
}
