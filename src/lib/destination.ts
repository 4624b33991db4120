/**
 * The destination of an outbound delivery: the unit the outbox isolates (fair claiming,
 * per-destination concurrency cap, circuit breaker). One destination is one receiver URL
 * (scheme, host, port and path; query and userinfo ignored), written as its origin plus a
 * short hash of origin and path, e.g. `https://hooks.example.com#3fa9c2d1`, so it names the
 * host without showing a path that may hold a secret.
 */
import { createHash } from "node:crypto";

/**
 * The destination key of `url`, or undefined when it is not a URL.
 * @example destinationOfUrl("https://u:p@x.example/a?k=s") → "https://x.example#…"
 */
export function destinationOfUrl(url: unknown): string | undefined {
  if (typeof url !== "string") return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const origin = `${u.protocol}//${u.host}`;
  const hash = createHash("sha256").update(`${origin}${u.pathname}`).digest("hex").slice(0, 8);
  return `${origin}#${hash}`;
}

/**
 * The destination of a delivery row: its target's `url` (or `webhook_url`) when there is
 * one, else its target type (one destination per sender without a URL, e.g. `internal`).
 */
export function destinationOf(targetType: string, target: Record<string, unknown>): string {
  return destinationOfUrl(target.url) ?? destinationOfUrl(target.webhook_url) ?? targetType;
}
