/**
 * SSRF classification for outbound HTTP (DESIGN.md §6, REFERENCE.md "Outbound: SSRF").
 *
 * Addresses are classified with `ipaddr.js` (never the `ip` package, which has unpatched
 * SSRF bugs). The rule is deny-by-default: an address is allowed only when `ipaddr.js`
 * classifies it as `unicast` (after unwrapping the IPv6 forms that embed an IPv4 address:
 * IPv4-mapped, SIIT `::ffff:0:0:0/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo
 * `2001::/32`), and, for IPv6, only inside global unicast `2000::/3`.
 *
 * This module holds the registration-time check (`assertUrlAllowed`); the connect-time
 * check, which guards the address actually dialled, lives in `./connector.ts`.
 */
import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Well-known cloud metadata endpoints; reported as "metadata" rather than their range. */
const METADATA_ADDRESSES = new Set([
  "169.254.169.254", // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
  "169.254.170.2", // AWS ECS task metadata
  "100.100.100.200", // Alibaba Cloud
  "fd00:ec2::254", // AWS IMDS over IPv6
]);

/** Human-readable reasons for the `ipaddr.js` range names that are not `unicast`. */
const RANGE_REASONS: Record<string, string> = {
  unspecified: "unspecified",
  broadcast: "broadcast",
  multicast: "multicast",
  linkLocal: "link-local",
  loopback: "loopback",
  carrierGradeNat: "carrier-grade NAT",
  private: "private",
  reserved: "reserved",
  uniqueLocal: "unique-local",
  deprecatedSiteLocal: "site-local",
  discard: "discard-only",
  benchmarking: "reserved",
};

const NAT64_WELL_KNOWN = ipaddr.IPv6.parse("64:ff9b::");
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parse("2000::");

/** Strips `[` `]` around an IPv6 literal as it appears in a URL host. */
function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** The IPv4 address held in 16-bit parts `hi` and `lo`, optionally bit-inverted (Teredo). */
function v4FromParts(hi: number, lo: number, invert = false): ipaddr.IPv4 {
  const mask = invert ? 0xffff : 0;
  const h = hi ^ mask;
  const l = lo ^ mask;
  return new ipaddr.IPv4([h >> 8, h & 0xff, l >> 8, l & 0xff]);
}

function classifyV4(addr: ipaddr.IPv4): string | null {
  if (METADATA_ADDRESSES.has(addr.toString())) return "metadata";
  const range = addr.range();
  if (range === "unicast") return null;
  return RANGE_REASONS[range] ?? `non-unicast (${range})`;
}

/** Reason for an embedded IPv4 address, prefixed with how it was embedded. */
function embedded(kind: string, v4: ipaddr.IPv4): string | null {
  const reason = classifyV4(v4);
  return reason === null ? null : `${reason} (${kind})`;
}

function classifyV6(addr: ipaddr.IPv6): string | null {
  if (METADATA_ADDRESSES.has(addr.toString())) return "metadata";
  const range = addr.range();
  const p = addr.parts;
  switch (range) {
    case "ipv4Mapped":
      return embedded("IPv4-mapped", addr.toIPv4Address());
    case "rfc6145":
      return embedded("IPv4-translated", v4FromParts(p[6]!, p[7]!));
    case "rfc6052":
      // Only the well-known /96 prefix has a fixed embedding; the local-use
      // 64:ff9b:1::/48 prefix (RFC 8215) points into a private network.
      if (addr.match(NAT64_WELL_KNOWN, 96)) return embedded("NAT64", v4FromParts(p[6]!, p[7]!));
      return "reserved (local-use NAT64)";
    case "6to4":
      return embedded("6to4", v4FromParts(p[1]!, p[2]!));
    case "teredo":
      // RFC 4380: server IPv4 in bits 32..63, client IPv4 bit-inverted in bits 96..127.
      return (
        embedded("Teredo server", v4FromParts(p[2]!, p[3]!)) ??
        embedded("Teredo client", v4FromParts(p[6]!, p[7]!, true))
      );
    case "unicast":
      // Outside 2000::/3 nothing is allocated for global unicast; this also catches the
      // deprecated IPv4-compatible form ::a.b.c.d (RFC 4291 §2.5.5.1).
      return addr.match(GLOBAL_UNICAST_V6, 3) ? null : "reserved";
    default:
      return RANGE_REASONS[range] ?? `non-unicast (${range})`;
  }
}

/**
 * Classifies one IP address for outbound use.
 *
 * @param ip an IPv4 or IPv6 address in standard text form (`10.0.0.1`, `::1`,
 *   `::ffff:10.0.0.1`, `[::1]`, `fe80::1%eth0`). Non-standard IPv4 forms such as `0x7f.1`
 *   or `010.0.0.1` are refused rather than guessed at.
 * @returns `null` when the address is public unicast and may be dialled, otherwise a short
 *   reason: "loopback", "private", "link-local", "carrier-grade NAT", "metadata",
 *   "unspecified", "broadcast", "multicast", "reserved", "unique-local", "site-local",
 *   "invalid address", … Embedded IPv4 addresses are reported with their wrapping, e.g.
 *   "private (IPv4-mapped)", "private (NAT64)", "loopback (6to4)".
 * Never throws.
 */
export function forbiddenAddressReason(ip: string): string | null {
  const text = stripBrackets(ip.trim());
  if (isIP(text) === 0) return "invalid address";
  let addr: Address;
  try {
    addr = ipaddr.parse(text);
  } catch {
    return "invalid address";
  }
  return addr.kind() === "ipv4" ? classifyV4(addr as ipaddr.IPv4) : classifyV6(addr as ipaddr.IPv6);
}

/**
 * Resolves a host name to all of its addresses, in the order they should be tried.
 * Injected in tests so that no real DNS (and no traffic to non-loopback hosts) is needed.
 * May reject (e.g. ENOTFOUND); callers treat a rejection as a network error.
 */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;

/** The system resolver: `dns.promises.lookup(hostname, { all: true, order: "verbatim" })`. */
export const systemResolver: Resolver = async (hostname) => {
  const results = await dns.lookup(hostname, { all: true, order: "verbatim" });
  return results.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
};

/**
 * A URL (or the address it resolves to) that outbound HTTP must not reach.
 * `reason` is a short machine-friendly phrase ("scheme", "private", "loopback",
 * "metadata", "invalid URL", "unresolvable host", …); `host` is the URL's host without
 * userinfo. The message names host and reason only — never userinfo, path or query.
 */
export class UrlNotAllowedError extends Error {
  /** Why the destination was refused, e.g. "private" or "scheme". */
  readonly reason: string;
  /** The host (and port) that was refused, or "" when the URL could not be parsed. */
  readonly host: string;
  /** Stable code for callers that match on it. */
  readonly code = "ERR_SWITCHYARD_URL_NOT_ALLOWED";

  constructor(host: string, reason: string) {
    super(
      host ? `destination not allowed: ${host}: ${reason}` : `destination not allowed: ${reason}`,
    );
    this.name = "UrlNotAllowedError";
    this.reason = reason;
    this.host = host;
  }
}

/** Parses `url` and checks its scheme; throws UrlNotAllowedError ("invalid URL" | "scheme"). */
export function parseHttpUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UrlNotAllowedError("", "invalid URL");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new UrlNotAllowedError(u.host, "scheme");
  }
  return u;
}

/**
 * Resolves `hostname` (an IP literal is used as is) and checks every address.
 * @returns the checked addresses, in resolver order, all public unicast.
 * @throws UrlNotAllowedError when any address is forbidden ("<reason>") or the name
 *   resolves to nothing ("unresolvable host"). A resolver rejection propagates unchanged.
 */
export async function resolveAllowed(
  hostname: string,
  resolver: Resolver,
  hostForMessage: string = hostname,
): Promise<Array<{ address: string; family: 4 | 6 }>> {
  const bare = stripBrackets(hostname);
  const family = isIP(bare);
  const addresses =
    family === 0 ? await resolver(bare) : [{ address: bare, family: family as 4 | 6 }];
  if (addresses.length === 0) throw new UrlNotAllowedError(hostForMessage, "unresolvable host");
  for (const { address } of addresses) {
    const reason = forbiddenAddressReason(address);
    if (reason !== null) throw new UrlNotAllowedError(hostForMessage, reason);
  }
  return addresses;
}

/**
 * Registration-time check of an outbound URL (webhook subscriptions, hook webhooks…).
 * Only `http:` and `https:` are accepted. Unless `allowPrivate` is true
 * (`SWITCHYARD_ALLOW_PRIVATE_URLS=true`), the host is resolved with `resolver`
 * (default `systemResolver`) and every address must be public unicast. URLs with
 * userinfo are accepted, but the userinfo never appears in an error.
 *
 * This check alone does not stop DNS rebinding; the connect-time guard in
 * `OutboundHttpClient` re-checks the address actually dialled.
 *
 * @throws UrlNotAllowedError — reason "invalid URL", "scheme", "unresolvable host" (DNS
 *   failure or empty answer) or the address reason from `forbiddenAddressReason`.
 */
export async function assertUrlAllowed(
  url: string,
  opts: { allowPrivate: boolean; resolver?: Resolver },
): Promise<void> {
  const u = parseHttpUrl(url);
  if (opts.allowPrivate) return;
  const resolver = opts.resolver ?? systemResolver;
  try {
    await resolveAllowed(u.hostname, resolver, u.host);
  } catch (err) {
    if (err instanceof UrlNotAllowedError) throw err;
    throw new UrlNotAllowedError(u.host, "unresolvable host");
  }
}
