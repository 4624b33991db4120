/**
 * Connect-time SSRF guard for undici (DESIGN.md §6: "the address checked is the address
 * dialled"; REFERENCE.md: "resolve, check, connect to that address").
 *
 * The guarded connector resolves the host itself, checks every address with
 * `forbiddenAddressReason`, and hands the *checked IP* (never the name) to the base
 * connector, so nothing re-resolves between check and connect (no DNS-rebinding window).
 * For HTTPS the original host name is kept as the TLS servername (SNI and certificate
 * check still use the name).
 */
import { isIP } from "node:net";
import type { buildConnector } from "undici";
import { type Resolver, resolveAllowed, systemResolver } from "./ssrf.ts";

/**
 * An undici connector: `(options, callback) => void`, where `options.hostname` is the
 * address to dial (bracket-free), `options.port` a string ("" for the scheme default),
 * `options.protocol` "http:" | "https:", and `options.servername` the TLS name.
 */
export type Connector = buildConnector.connector;

/** Options of `createGuardedConnector`. */
export interface GuardedConnectorOptions {
  /** Skip the address check (`SWITCHYARD_ALLOW_PRIVATE_URLS=true`, dev and tests). */
  allowPrivate: boolean;
  /**
   * Resolver for host names; default `systemResolver`. With `allowPrivate` and no
   * resolver, resolution is left to the base connector (Node's own lookup).
   */
  resolver?: Resolver;
  /**
   * The connector that opens the socket, called with `hostname` set to the checked IP
   * address: undici's `buildConnector({})` (the HTTP client's default; tests inject a spy
   * that records the address and connects to a 127.0.0.1 capture server instead).
   */
  connector: Connector;
}

/** Socket errors after which the next resolved (and already checked) address is tried. */
const TRY_NEXT_CODES = new Set([
  "ECONNREFUSED",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "EADDRNOTAVAIL",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * Builds an undici `connect` function that enforces the SSRF policy on the address it
 * dials. Use it as `new Agent({ connect: createGuardedConnector(opts) })`.
 *
 * Connection failures are reported through undici's callback, never thrown:
 * a forbidden address yields `UrlNotAllowedError` (from `./ssrf.ts`, reason e.g. "private"),
 * an empty DNS answer `UrlNotAllowedError` ("unresolvable host"), and resolver or socket
 * failures their original error. Addresses are tried in resolver order; the next one is
 * tried only after a connect-level failure (ECONNREFUSED, ENETUNREACH, …).
 */
export function createGuardedConnector(opts: GuardedConnectorOptions): Connector {
  const base = opts.connector;
  const resolver = opts.resolver ?? systemResolver;

  return (options, callback) => {
    const hostname = options.hostname;
    if (opts.allowPrivate && opts.resolver === undefined) {
      base(options, callback);
      return;
    }
    // SNI and certificate check use the name, never the dialled IP (HTTPS only).
    const servername =
      options.protocol === "https:" && isIP(hostname) === 0
        ? options.servername || hostname
        : options.servername;
    const hostForMessage = options.host ?? hostname;

    const lookup = opts.allowPrivate
      ? isIP(hostname) === 0
        ? resolver(hostname)
        : Promise.resolve([{ address: hostname, family: isIP(hostname) as 4 | 6 }])
      : resolveAllowed(hostname, resolver, hostForMessage);

    lookup.then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(new Error(`no addresses for ${hostForMessage}`), null);
          return;
        }
        const tryAt = (i: number): void => {
          const address = addresses[i]!.address;
          base({ ...options, hostname: address, servername }, (err, socket) => {
            if (err) {
              const code = (err as NodeJS.ErrnoException).code;
              if (i + 1 < addresses.length && code !== undefined && TRY_NEXT_CODES.has(code)) {
                tryAt(i + 1);
                return;
              }
              callback(err, null);
              return;
            }
            callback(null, socket!);
          });
        };
        tryAt(0);
      },
      (err: unknown) => {
        callback(err instanceof Error ? err : new Error(String(err)), null);
      },
    );
  };
}
