/**
 * `ctx.verify` and `ctx.errors` as an integration receives them (the CLI's stub context
 * holds the same objects the server hands out). Signatures are made independently: HMACs
 * with node:crypto and with @octokit/webhooks-methods (GitHub's own signer), Standard
 * Webhooks with the `standardwebhooks` library, Ed25519 with a node:crypto key pair.
 */
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { describe, test } from "node:test";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import { stubContext } from "../src/cli/stub-context.ts";
import type { Verification } from "../src/sdk/verify.ts";

const ctx = stubContext("verify-test");
const SECRET = "hmac-secret-0123456789abcdef";
const BODY = JSON.stringify({ action: "opened", text: "héllo ✓" });
const now = () => Math.floor(Date.now() / 1000);
const hex = (secret: string, data: string) =>
  createHmac("sha256", secret).update(data).digest("hex");

/** Asserts a refusal whose reason matches `reason` and names none of `secrets`. */
function refused(v: Verification, reason: RegExp, ...secrets: string[]): void {
  assert.equal(v.ok, false, `expected a refusal (${reason}), got ${JSON.stringify(v)}`);
  if (v.ok) return;
  assert.match(v.reason, reason);
  for (const s of secrets) {
    assert.ok(!v.reason.includes(s), `the reason "${v.reason}" leaks a secret or signature`);
  }
}

describe("ctx.verify.hmac", () => {
  const gh = (signature: string | string[] | undefined, body: Buffer | string = BODY) =>
    ctx.verify.hmac({
      secret: SECRET,
      body: typeof body === "string" ? Buffer.from(body) : body,
      signature,
      prefix: "sha256=",
      headerName: "X-Hub-Signature-256",
    });

  test("hex with a sha256= prefix, as GitHub signs: the verified text comes back", async () => {
    const mine = `sha256=${hex(SECRET, BODY)}`;
    assert.equal(await githubSign(SECRET, BODY), mine, "node:crypto and GitHub's signer agree");
    assert.deepEqual(gh(mine), { ok: true, text: BODY });
    assert.deepEqual(gh(await githubSign(SECRET, BODY)), { ok: true, text: BODY });
    // The raw bytes are what is signed, also as a string.
    assert.deepEqual(
      ctx.verify.hmac({ secret: SECRET, body: BODY, signature: mine, prefix: "sha256=" }),
      { ok: true, text: BODY },
    );
  });

  test("refusals name the problem, never the secret or the signature", async () => {
    const good = `sha256=${hex(SECRET, BODY)}`;
    const wrong = `sha256=${hex("another-secret", BODY)}`;
    const cases: Array<[string, Verification, RegExp]> = [
      ["missing", gh(undefined), /^missing X-Hub-Signature-256$/],
      ["repeated", gh([good, good]), /^more than one X-Hub-Signature-256$/],
      ["no prefix", gh(hex(SECRET, BODY)), /^malformed X-Hub-Signature-256$/],
      ["sha1 form", gh(`sha1=${hex(SECRET, BODY)}`), /^malformed/],
      ["upper-case hex", gh(good.toUpperCase().replace("SHA256=", "sha256=")), /^malformed/],
      ["truncated", gh(good.slice(0, 40)), /^malformed/],
      ["one digit too many", gh(`${good}0`), /^malformed/],
      ["not hex", gh(`sha256=${"z".repeat(64)}`), /^malformed/],
      ["wrong secret", gh(wrong), /^signature mismatch$/],
      ["zeros", gh(`sha256=${"0".repeat(64)}`), /^signature mismatch$/],
      ["another body", gh(good, `${BODY} `), /^signature mismatch$/],
      ["empty body", gh(`sha256=${hex(SECRET, "")}`, Buffer.alloc(0)), /^empty body$/],
      [
        "not UTF-8 (signed all the same)",
        gh(
          `sha256=${createHmac("sha256", SECRET)
            .update(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))
            .digest("hex")}`,
          Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
        ),
        /^body is not UTF-8$/,
      ],
      [
        "no secret configured",
        ctx.verify.hmac({ secret: "", body: BODY, signature: good, prefix: "sha256=" }),
        /^no secret configured$/,
      ],
    ];
    for (const [name, v, reason] of cases) {
      refused(v, reason, SECRET, good.slice(7), wrong.slice(7));
      assert.equal(v.ok, false, name);
    }
  });

  test("signedPrefix and a timestamp window (v0=<hex> over v0:<ts>:<body>)", () => {
    const check = (ts: string | undefined, signature: string, tolerance?: number) =>
      ctx.verify.hmac({
        secret: SECRET,
        body: Buffer.from(BODY),
        signature,
        prefix: "v0=",
        signedPrefix: `v0:${ts}:`,
        timestamp: ts,
        ...(tolerance !== undefined ? { toleranceSeconds: tolerance } : {}),
      });
    const ts = String(now());
    const good = `v0=${hex(SECRET, `v0:${ts}:${BODY}`)}`;
    assert.deepEqual(check(ts, good), { ok: true, text: BODY });

    const stale = String(now() - 301);
    refused(check(stale, `v0=${hex(SECRET, `v0:${stale}:${BODY}`)}`), /outside the accepted/);
    const future = String(now() + 400);
    refused(check(future, `v0=${hex(SECRET, `v0:${future}:${BODY}`)}`), /outside the accepted/);
    // A wider window accepts the older request.
    const old = String(now() - 600);
    assert.equal(check(old, `v0=${hex(SECRET, `v0:${old}:${BODY}`)}`, 900).ok, true);
    // Missing timestamp while a window is asked for.
    refused(check(undefined, good, 300), /timestamp missing/);
    refused(check("12abc", good), /timestamp missing or outside/);
    // The timestamp is part of what is signed: another one does not verify.
    const other = String(now() - 5);
    refused(check(other, good), /^signature mismatch$/, SECRET, good.slice(3));
    // A body signed without the prefix is not accepted.
    refused(check(ts, `v0=${hex(SECRET, BODY)}`), /^signature mismatch$/);
  });

  test("base64 digests (padded, canonical), sha1 and sha512", () => {
    const b64 = createHmac("sha256", SECRET).update(BODY).digest("base64");
    const check = (signature: string) =>
      ctx.verify.hmac({ secret: SECRET, body: BODY, signature, encoding: "base64" });
    assert.deepEqual(check(b64), { ok: true, text: BODY });
    refused(check(b64.replace(/=+$/, "")), /^malformed signature$/, SECRET, b64);
    refused(check(`${b64}==`), /^malformed signature$/);
    refused(check(b64.replace(/[A-Za-z]/, (c) => (c === "A" ? "B" : "A"))), /mismatch/);
    refused(check(createHmac("sha256", "other").update(BODY).digest("base64")), /mismatch/);
    for (const algorithm of ["sha1", "sha512"] as const) {
      const d = createHmac(algorithm, SECRET).update(BODY).digest("hex");
      assert.equal(
        ctx.verify.hmac({ secret: SECRET, body: BODY, signature: d, algorithm }).ok,
        true,
        algorithm,
      );
      refused(ctx.verify.hmac({ secret: SECRET, body: BODY, signature: d }), /^malformed/);
    }
  });
});

describe("ctx.verify.standardWebhooks", () => {
  const secret = `whsec_${Buffer.from("standard-webhooks-key-0123456789").toString("base64")}`;
  const wh = new Webhook(secret);
  const headers = (id: string, at: Date, body: string, signer = wh) => ({
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signer.sign(id, at, body),
  });

  test("signed by the standardwebhooks library: verified; tampered, stale or foreign refused", () => {
    const h = headers("msg_1", new Date(), BODY);
    assert.deepEqual(ctx.verify.standardWebhooks({ secret, body: Buffer.from(BODY), headers: h }), {
      ok: true,
      text: BODY,
    });
    const sig = h["webhook-signature"];
    const leaks = [secret, sig, sig.slice(3)];
    refused(
      ctx.verify.standardWebhooks({ secret, body: Buffer.from(`${BODY} `), headers: h }),
      /^signature mismatch$/,
      ...leaks,
    );
    refused(
      ctx.verify.standardWebhooks({ secret, body: BODY, headers: { ...h, "webhook-id": "msg_2" } }),
      /^signature mismatch$/,
    );
    const old = headers("msg_3", new Date(Date.now() - 10 * 60_000), BODY);
    refused(
      ctx.verify.standardWebhooks({ secret, body: BODY, headers: old }),
      /^timestamp outside the accepted window$/,
      ...leaks,
    );
    const foreign = new Webhook(
      `whsec_${Buffer.from("another-key-0123456789").toString("base64")}`,
    );
    refused(
      ctx.verify.standardWebhooks({
        secret,
        body: BODY,
        headers: headers("m", new Date(), BODY, foreign),
      }),
      /^signature mismatch$/,
    );
    refused(
      ctx.verify.standardWebhooks({
        secret,
        body: BODY,
        headers: { ...h, "webhook-id": undefined },
      }),
      /^missing webhook-id$/,
    );
    refused(
      ctx.verify.standardWebhooks({
        secret,
        body: BODY,
        headers: { ...h, "webhook-signature": [sig, sig] },
      }),
      /^more than one webhook-signature$/,
    );
    refused(
      ctx.verify.standardWebhooks({ secret, body: Buffer.from([0xff, 0xfe]), headers: h }),
      /^body is not UTF-8$/,
    );
  });

  test("a plain (non-whsec_) secret signs with its UTF-8 bytes; an empty one is refused", () => {
    const plain = "plain-secret-0123456789";
    const signer = new Webhook(Buffer.from(plain, "utf8"), { format: "raw" });
    const h = headers("msg_p", new Date(), BODY, signer);
    assert.equal(ctx.verify.standardWebhooks({ secret: plain, body: BODY, headers: h }).ok, true);
    refused(
      ctx.verify.standardWebhooks({ secret: "", body: BODY, headers: h }),
      /not a usable key/,
    );
  });
});

describe("ctx.verify.ed25519", () => {
  const pair = () => generateKeyPairSync("ed25519");
  /** The raw 32-byte public key as hex (the last 32 bytes of its SPKI DER). */
  const publicHex = (k: KeyObject) =>
    k.export({ format: "der", type: "spki" }).subarray(-32).toString("hex");
  const { publicKey, privateKey } = pair();
  const ts = String(now());
  const signature = sign(null, Buffer.from(ts + BODY), privateKey).toString("hex");

  test("timestamp + body signed with a node:crypto key pair: verified", () => {
    const v = ctx.verify.ed25519({
      publicKey: publicHex(publicKey),
      body: Buffer.from(BODY),
      signature,
      timestamp: ts,
      toleranceSeconds: 300,
    });
    assert.deepEqual(v, { ok: true, text: BODY });
    // Upper-case hex in the header and the key is the same signature.
    assert.equal(
      ctx.verify.ed25519({
        publicKey: publicHex(publicKey).toUpperCase(),
        body: BODY,
        signature: signature.toUpperCase(),
        timestamp: ts,
      }).ok,
      true,
    );
  });

  test("another key, a tampered body or timestamp, a bad key or signature: refused", () => {
    const key = publicHex(publicKey);
    const check = (o: Partial<Parameters<typeof ctx.verify.ed25519>[0]>) =>
      ctx.verify.ed25519({ publicKey: key, body: BODY, signature, timestamp: ts, ...o });
    refused(check({ publicKey: publicHex(pair().publicKey) }), /^signature mismatch$/, signature);
    refused(check({ body: `${BODY} ` }), /^signature mismatch$/, signature);
    refused(check({ timestamp: String(Number(ts) - 1) }), /^signature mismatch$/);
    refused(check({ timestamp: undefined }), /^signature mismatch$/);
    refused(check({ signature: signature.slice(2) }), /^malformed signature$/, signature);
    refused(check({ signature: [signature, signature] }), /^more than one signature$/);
    refused(check({ signature: undefined }), /^missing signature$/);
    refused(check({ publicKey: "not-a-key" }), /^the configured public key is not 32 hex bytes$/);
    refused(check({ publicKey: key.slice(2) }), /is not 32 hex bytes/);
    refused(check({ publicKey: "" }), /is not 32 hex bytes/);
    refused(check({ body: Buffer.from([0xff]) }), /^body is not UTF-8$/);
    const stale = String(now() - 1000);
    refused(
      check({
        timestamp: stale,
        signature: sign(null, Buffer.from(stale + BODY), privateKey).toString("hex"),
        toleranceSeconds: 300,
      }),
      /^timestamp outside the accepted window$/,
    );
    refused(check({ timestamp: undefined, toleranceSeconds: 300 }), /^missing timestamp$/);
  });
});

describe("ctx.errors", () => {
  test("fromResult keeps status, retryability and Retry-After; ok results give nothing", () => {
    const failed = {
      ok: false,
      status: 429,
      attempts: 2,
      retryable: true,
      error: "HTTP 429",
      durationMs: 12,
      retryAfterMs: 30_000,
    };
    const err = ctx.errors.fromResult(failed, "post to chat");
    assert.ok(err instanceof ctx.errors.DeliveryError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "DeliveryError");
    assert.equal(err.message, "post to chat: HTTP 429");
    assert.equal(err.status, 429);
    assert.equal(err.retryable, true);
    assert.equal(err.retryAfterMs, 30_000);

    const final = ctx.errors.fromResult({
      ...failed,
      status: 404,
      retryable: false,
      error: undefined,
      retryAfterMs: undefined,
    });
    assert.equal(final?.message, "HTTP 404");
    assert.equal(final?.retryable, false);
    assert.equal(final?.status, 404);
    assert.equal(final?.retryAfterMs, undefined);

    const network = ctx.errors.fromResult({ ...failed, status: null, error: "ECONNREFUSED" });
    assert.equal(network?.status, null);
    assert.equal(network?.retryable, true);

    assert.equal(ctx.errors.fromResult({ ...failed, ok: true, status: 200 }), undefined);
  });

  test("DeliveryError defaults to retryable; isRetryableStatus follows 408/429/5xx/no response", () => {
    const e = new ctx.errors.DeliveryError("boom");
    assert.equal(e.retryable, true);
    assert.equal(e.status, null);
    assert.equal(
      new ctx.errors.DeliveryError("no", { retryable: false, status: 400 }).retryable,
      false,
    );
    for (const s of [null, 408, 429, 500, 502, 503])
      assert.equal(ctx.errors.isRetryableStatus(s), true, String(s));
    for (const s of [200, 301, 400, 401, 403, 404, 422])
      assert.equal(ctx.errors.isRetryableStatus(s), false, String(s));
  });
});
