/**
 * Inbound signature checks, handed to integrations as `ctx.verify` (the SDK's
 * `IntegrationVerify`). Every check takes the raw request bytes, decodes them strictly as
 * UTF-8 (no two byte strings verify as the same text), compares in constant time and
 * gives a reason that never contains the secret or the signature.
 *
 * - HMAC over `[signedPrefix] + body`, hex or base64, with an optional timestamp window:
 *   the schemes chat and code-hosting providers sign webhooks with (`sha256=<hex>` over the
 *   body; `v0=<hex>` over `v0:<ts>:<body>` with a 5-minute window); see
 *   ../shared/REFERENCE.md for each provider's. Node's `crypto`. The digest must be written
 *   canonically (lower-case hex, or padded base64, of the algorithm's exact length), else
 *   the header is "malformed"; an empty secret refuses every request (fail closed).
 * - Standard Webhooks (standardwebhooks.com §"Verifying webhook authenticity"): the
 *   `standardwebhooks` library, which also enforces its 5-minute timestamp tolerance.
 * - Ed25519 over `timestamp + body` (RFC 8032), the scheme of chat interaction endpoints;
 *   Node's `crypto`.
 */
import {
  createHash,
  createHmac,
  createPublicKey,
  type KeyObject,
  timingSafeEqual,
  verify as verifySignature,
} from "node:crypto";
import { standardWebhookSigner } from "../outbox/signing.ts";
import type {
  Ed25519VerifyOptions,
  HmacVerifyOptions,
  IntegrationVerify,
  StandardWebhooksVerifyOptions,
  Verification,
} from "../sdk/verify.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The body as strict UTF-8 text, or the refusal. */
function decode(body: Uint8Array | string | undefined): Verification {
  if (body === undefined || body.length === 0) return { ok: false, reason: "empty body" };
  if (typeof body === "string") return { ok: true, text: body };
  try {
    return { ok: true, text: utf8.decode(body) };
  } catch {
    return { ok: false, reason: "body is not UTF-8" };
  }
}

/** One header value; a repeated header (an array) is refused. */
function single(value: string | string[] | undefined, name: string): string | Verification {
  if (value === undefined) return { ok: false, reason: `missing ${name}` };
  if (Array.isArray(value)) return { ok: false, reason: `more than one ${name}` };
  return value;
}

/** Whether `ts` (Unix seconds) is within `toleranceS` of now. */
function fresh(ts: string | number, toleranceS: number): boolean {
  const n = typeof ts === "number" ? ts : /^\d{1,12}$/.test(ts) ? Number(ts) : Number.NaN;
  return Number.isFinite(n) && Math.abs(Date.now() / 1000 - n) <= toleranceS;
}

/**
 * Whether `digest` is the canonical writing of `size` bytes in `encoding`: lower-case hex
 * of exactly `2 × size` digits (as providers send it), or padded standard base64 that
 * decodes to exactly `size` bytes and encodes back the same. One digest, one accepted
 * string: an upper-case, shortened or re-padded digest is malformed.
 */
function canonicalDigest(digest: string, size: number, encoding: "hex" | "base64"): boolean {
  if (encoding === "hex") return digest.length === size * 2 && /^[0-9a-f]+$/.test(digest);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(digest)) return false;
  const bytes = Buffer.from(digest, "base64");
  return bytes.length === size && bytes.toString("base64") === digest;
}

/** Digest sizes (bytes) by algorithm name, learnt once: a hash object per request costs. */
const digestSizes = new Map<string, number>();

function digestSize(algorithm: string): number {
  let size = digestSizes.get(algorithm);
  if (size === undefined) {
    size = createHash(algorithm).digest().length;
    digestSizes.set(algorithm, size);
  }
  return size;
}

/** See {@link IntegrationVerify.hmac}. */
export function verifyHmac(o: HmacVerifyOptions): Verification {
  if (!o.secret || o.secret.length === 0) return { ok: false, reason: "no secret configured" };
  const name = o.headerName ?? "signature";
  const header = single(o.signature, name);
  if (typeof header !== "string") return header;
  const prefix = o.prefix ?? "";
  const encoding = o.encoding ?? "hex";
  const algorithm = o.algorithm ?? "sha256";
  let size: number;
  try {
    size = digestSize(algorithm);
  } catch {
    return { ok: false, reason: `unsupported algorithm ${String(algorithm).slice(0, 20)}` };
  }
  const digest = header.startsWith(prefix) ? header.slice(prefix.length) : "";
  if (!canonicalDigest(digest, size, encoding)) return { ok: false, reason: `malformed ${name}` };
  if (o.timestamp !== undefined || o.toleranceSeconds !== undefined) {
    if (o.timestamp === undefined || !fresh(o.timestamp, o.toleranceSeconds ?? 300)) {
      return { ok: false, reason: "timestamp missing or outside the accepted window" };
    }
  }
  const body = decode(o.body);
  if (!body.ok) return body;
  const expected = createHmac(algorithm, o.secret)
    .update(o.signedPrefix ?? "")
    .update(typeof o.body === "string" ? o.body : (o.body as Uint8Array))
    .digest();
  const given = Buffer.from(digest, encoding);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "signature mismatch" };
  }
  return body;
}

/** See {@link IntegrationVerify.standardWebhooks}. */
export function verifyStandardWebhooks(o: StandardWebhooksVerifyOptions): Verification {
  const headers: Record<string, string> = {};
  for (const h of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const v = single(o.headers[h], h);
    if (typeof v !== "string") return v;
    headers[h] = v;
  }
  const body = decode(o.body);
  if (!body.ok) return body;
  let signer: ReturnType<typeof standardWebhookSigner>;
  try {
    signer = standardWebhookSigner(o.secret);
  } catch {
    return { ok: false, reason: "the configured secret is not a usable key" };
  }
  try {
    signer.verify(body.text, headers);
  } catch (err) {
    const msg = (err as Error).message ?? "";
    return {
      ok: false,
      reason: /timestamp/i.test(msg)
        ? "timestamp outside the accepted window"
        : "signature mismatch",
    };
  }
  return body;
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4); the 32 key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** See {@link IntegrationVerify.ed25519}. */
export function verifyEd25519(o: Ed25519VerifyOptions): Verification {
  const sig = single(o.signature, "signature");
  if (typeof sig !== "string") return sig;
  if (!/^[0-9a-f]{128}$/i.test(sig)) return { ok: false, reason: "malformed signature" };
  let ts = "";
  if (o.timestamp !== undefined || o.toleranceSeconds !== undefined) {
    const t = single(o.timestamp, "timestamp");
    if (typeof t !== "string") return t;
    if (o.toleranceSeconds !== undefined && !fresh(t, o.toleranceSeconds)) {
      return { ok: false, reason: "timestamp outside the accepted window" };
    }
    ts = t;
  }
  if (!/^[0-9a-f]{64}$/i.test(o.publicKey)) {
    return { ok: false, reason: "the configured public key is not 32 hex bytes" };
  }
  const body = decode(o.body);
  if (!body.ok) return body;
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(o.publicKey, "hex")]),
      format: "der",
      type: "spki",
    });
  } catch {
    return { ok: false, reason: "the configured public key is not an Ed25519 key" };
  }
  const raw = typeof o.body === "string" ? Buffer.from(o.body) : Buffer.from(o.body as Uint8Array);
  const signed = Buffer.concat([Buffer.from(ts, "utf8"), raw]);
  let valid: boolean;
  try {
    valid = verifySignature(null, signed, key, Buffer.from(sig, "hex"));
  } catch {
    valid = false;
  }
  return valid ? body : { ok: false, reason: "signature mismatch" };
}

/** The `ctx.verify` object. */
export const integrationVerify: IntegrationVerify = {
  hmac: verifyHmac,
  standardWebhooks: verifyStandardWebhooks,
  ed25519: verifyEd25519,
};
