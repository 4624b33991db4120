/**
 * Inbound signature checks as integrations see them (`ctx.verify`). Every check works on
 * the raw request bytes (`req.rawBody`), compares in constant time, decodes the body
 * strictly as UTF-8, and never puts the secret or the signature in its reason.
 */

/** The outcome of a check: the verified body text, or why it was refused. */
export type Verification = { ok: true; text: string } | { ok: false; reason: string };

/** Options of {@link IntegrationVerify.hmac}. */
export interface HmacVerifyOptions {
  /** The shared secret (UTF-8 string or bytes). */
  secret: string | Uint8Array;
  /** The raw request body, exactly as received. */
  body: Uint8Array | string | undefined;
  /** The signature header's value (a repeated header is refused). */
  signature: string | string[] | undefined;
  /** Hash algorithm; default `sha256`. */
  algorithm?: "sha1" | "sha256" | "sha512";
  /** How the digest is written in the header: lower-case `hex` (default) or padded `base64`. */
  encoding?: "hex" | "base64";
  /** A prefix the header carries before the digest, e.g. `"sha256="` or `"v0="`. */
  prefix?: string;
  /** Text signed before the body, e.g. `` `v0:${timestamp}:` ``; default none. */
  signedPrefix?: string;
  /** The request's timestamp (Unix seconds) when the scheme signs one; checked against the window. */
  timestamp?: string | number | undefined;
  /** Accepted clock difference for `timestamp`, in seconds; default 300. */
  toleranceSeconds?: number;
  /** Name of the header, for reasons (default "signature"). */
  headerName?: string;
}

/** Options of {@link IntegrationVerify.standardWebhooks}. */
export interface StandardWebhooksVerifyOptions {
  /** `whsec_…` (base64 key) or any other string (its UTF-8 bytes are the key). */
  secret: string;
  body: Uint8Array | string | undefined;
  /** The request headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`). */
  headers: Record<string, string | string[] | undefined>;
}

/** Options of {@link IntegrationVerify.ed25519}. */
export interface Ed25519VerifyOptions {
  /** The provider's public key, hex (32 bytes). */
  publicKey: string;
  body: Uint8Array | string | undefined;
  /** The signature header, hex (64 bytes). */
  signature: string | string[] | undefined;
  /** Signed before the body (`timestamp + body`). */
  timestamp?: string | string[] | undefined;
  /** When set, `timestamp` must be Unix seconds within this many seconds of now. */
  toleranceSeconds?: number;
}

/** Signature checks over raw bytes, reached at run time through `ctx.verify`. */
export interface IntegrationVerify {
  /**
   * HMAC over `signedPrefix + body`: for `X-Hub-Signature-256: sha256=<hex>` pass
   * `prefix: "sha256="`; for `v0=<hex>` over `v0:<ts>:<body>` pass `prefix: "v0="`,
   * `signedPrefix: "v0:<ts>:"`, `timestamp: <ts>`.
   */
  hmac(opts: HmacVerifyOptions): Verification;
  /** Standard Webhooks (standardwebhooks.com): `webhook-id`/`-timestamp`/`-signature`, 5 minutes' tolerance. */
  standardWebhooks(opts: StandardWebhooksVerifyOptions): Verification;
  /** Ed25519 over `timestamp + body` (RFC 8032; chat interaction endpoints). */
  ed25519(opts: Ed25519VerifyOptions): Verification;
}
