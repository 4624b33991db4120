/**
 * A host name resolver for SSRF tests: names resolve from a fixed table, so "public" hosts
 * can be named without any DNS lookup or traffic leaving 127.0.0.1.
 */
import type { Resolver } from "../../src/outbox/ssrf.ts";

/**
 * A resolver answering from `table` (name → addresses; IPv6 when the address has ":").
 * Unknown names fail like DNS does (`ENOTFOUND`). `calls` lists every name asked, in order.
 */
export function tableResolver(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (hostname: string) => {
    calls.push(hostname);
    const list = table[hostname];
    if (!list)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return list.map((address) => ({ address, family: (address.includes(":") ? 6 : 4) as 4 | 6 }));
  };
  return Object.assign(fn, { calls });
}
