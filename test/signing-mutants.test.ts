/**
 * Tests written against the mutants that survived `npm run mutate -- signing` (issue 16
 * item 3): the edges of the signature checks that the main suites left open — the exact
 * end of the timestamp window, junk after a well-formed signature or key, a digest with
 * one non-hex digit, sha512's doubly padded base64, an unsupported algorithm, an empty
 * secret on the signing side, and `ctx.sign` (Standard Webhooks headers only, verifiable by
 * the standardwebhooks library); and, from a later run, a missing body, an empty secret given
 * as bytes, a shortened base64 digest, a long unsupported algorithm name, timestamps that are
 * not plain digits (or are a fractional number), a leading byte order mark and Ed25519
 * without a timestamp. Signatures are made independently with node:crypto and the
 * standardwebhooks library. Reasons are asserted exactly: integrations log them.
 */
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { describe, mock, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { stubContext } from "../src/cli/stub-context.ts";
import { secretProblem, signatureHeaders } from "../src/outbox/signing.ts";
import type { Verification } from "../src/sdk/verify.ts";

const ctx = stubContext("signing-mutants");
const SECRET = "hmac-secret-0123456789abcdef";
const BODY = JSON.stringify({ text: "héllo" });

function refused(v: Verification, reason: RegExp): void {
  assert.equal(v.ok, false, `expected a refusal (${reason}), got ${JSON.stringify(v)}`);
  if (!v.ok) assert.match(v.reason, reason);
}

describe("signature checks at their edges", () => {
  test("the timestamp window includes its end: 300 s old passes, 301 s old does not", () => {
    mock.timers.enable({ apis: ["Date"], now: 1_700_000_000_000 });
    try {
      const check = (ts: string) =>
        ctx.verify.hmac({
          secret: SECRET,
          body: BODY,
          signature: `v0=${createHmac("sha256", SECRET).update(`v0:${ts}:${BODY}`).digest("hex")}`,
          prefix: "v0=",
          signedPrefix: `v0:${ts}:`,
          timestamp: ts,
          toleranceSeconds: 300,
        });
      assert.equal(check("1699999700").ok, true, "exactly 300 s old");
      assert.equal(check("1700000300").ok, true, "exactly 300 s ahead");
      refused(check("1699999699"), /outside the accepted window/);
    } finally {
      mock.timers.reset();
    }
  });

  test("hmac: a digest with a non-hex last digit is malformed; no prefix needed by default; unsupported algorithm named", () => {
    const good = createHmac("sha256", SECRET).update(BODY).digest("hex");
    assert.deepEqual(ctx.verify.hmac({ secret: SECRET, body: BODY, signature: good }), {
      ok: true,
      text: BODY,
    });
    refused(
      ctx.verify.hmac({ secret: SECRET, body: BODY, signature: `${good.slice(0, -1)}g` }),
      /^malformed signature$/,
    );
    refused(
      ctx.verify.hmac({ secret: SECRET, body: BODY, signature: good, algorithm: "nope" as any }),
      /^unsupported algorithm nope$/,
    );
    const b512 = createHmac("sha512", SECRET).update(BODY).digest("base64");
    assert.ok(b512.endsWith("=="), "sha512 in base64 ends with two pad characters");
    assert.equal(
      ctx.verify.hmac({
        secret: SECRET,
        body: BODY,
        signature: b512,
        algorithm: "sha512",
        encoding: "base64",
      }).ok,
      true,
    );
  });

  test("ed25519: junk after a valid signature or key is refused; a string body verifies", () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const key = publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("hex");
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = sign(null, Buffer.from(ts + BODY), privateKey).toString("hex");
    const check = (o: { signature?: string; publicKey?: string; body?: string | Buffer }) =>
      ctx.verify.ed25519({
        publicKey: o.publicKey ?? key,
        body: o.body ?? BODY,
        signature: o.signature ?? sig,
        timestamp: ts,
      });
    assert.deepEqual(check({}), { ok: true, text: BODY });
    assert.deepEqual(check({ body: Buffer.from(BODY) }), { ok: true, text: BODY });
    refused(check({ signature: `${sig}zz` }), /^malformed signature$/);
    refused(check({ signature: `00${sig}` }), /^malformed signature$/);
    refused(check({ publicKey: `${key}zz` }), /is not 32 hex bytes/);
    refused(check({ publicKey: `zz${key}` }), /is not 32 hex bytes/);
  });
});

describe("signature checks: the rest of the edges", () => {
  const hex = (key: string | Uint8Array, text: string) =>
    createHmac("sha256", key).update(text).digest("hex");

  test("hmac: no body is an empty body; an empty secret given as bytes is no secret", () => {
    refused(
      ctx.verify.hmac({ secret: SECRET, body: undefined, signature: hex(SECRET, "") }),
      /^empty body$/,
    );
    // Signed with the empty key, so only the secret check can refuse it.
    refused(
      ctx.verify.hmac({ secret: new Uint8Array(0), body: BODY, signature: hex("", BODY) }),
      /^no secret configured$/,
    );
  });

  test("hmac: a canonical base64 digest one byte short is malformed; a long algorithm name is cut", () => {
    const short = createHmac("sha256", SECRET).update(BODY).digest().subarray(0, 31);
    const b64 = short.toString("base64");
    assert.equal(Buffer.from(b64, "base64").toString("base64"), b64, "canonical base64");
    refused(
      ctx.verify.hmac({ secret: SECRET, body: BODY, signature: b64, encoding: "base64" }),
      /^malformed signature$/,
    );
    const long = "x".repeat(40);
    const v = ctx.verify.hmac({
      secret: SECRET,
      body: BODY,
      signature: "00",
      algorithm: long as any,
    });
    assert.deepEqual(v, { ok: false, reason: `unsupported algorithm ${"x".repeat(20)}` });
  });

  test("hmac: a timestamp is Unix seconds: a fractional number passes; a sign, a space or a fraction in the text does not", () => {
    mock.timers.enable({ apis: ["Date"], now: 1_700_000_000_000 });
    try {
      const check = (ts: string | number) =>
        ctx.verify.hmac({
          secret: SECRET,
          body: BODY,
          signature: hex(SECRET, `v0:${ts}:${BODY}`),
          signedPrefix: `v0:${ts}:`,
          timestamp: ts,
        });
      assert.deepEqual(check(1_700_000_000.5), { ok: true, text: BODY });
      assert.deepEqual(check("1700000000"), { ok: true, text: BODY });
      for (const ts of ["+1700000000", " 1700000000", "1700000000 ", "1700000000.5"]) {
        refused(check(ts), /^timestamp missing or outside the accepted window$/);
      }
    } finally {
      mock.timers.reset();
    }
  });

  test("hmac: a leading byte order mark stays in the verified text", () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(BODY)]);
    const signature = createHmac("sha256", SECRET).update(bytes).digest("hex");
    assert.deepEqual(ctx.verify.hmac({ secret: SECRET, body: bytes, signature }), {
      ok: true,
      text: `\uFEFF${BODY}`,
    });
  });

  test("ed25519 without a timestamp: the signature is over the body alone", () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const key = publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("hex");
    const signature = sign(null, Buffer.from(BODY), privateKey).toString("hex");
    assert.deepEqual(ctx.verify.ed25519({ publicKey: key, body: BODY, signature }), {
      ok: true,
      text: BODY,
    });
  });
});

describe("signing", () => {
  test("an empty secret is refused by name; no secret means unsigned headers", () => {
    assert.equal(secretProblem(""), "secret must not be empty");
    assert.match(secretProblem("whsec_") ?? "", /non-empty base64 key/);
    assert.equal(secretProblem("plain-secret"), null);
    const unsigned = signatureHeaders("msg_1", BODY, null, new Date(1_700_000_000_000));
    assert.deepEqual(unsigned, { "webhook-id": "msg_1", "webhook-timestamp": "1700000000" });
  });

  test("ctx.sign.standardWebhooks: headers the standardwebhooks library verifies, no X-AMS-Signature", () => {
    const secret = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;
    const headers = ctx.sign.standardWebhooks("msg_42", BODY, secret);
    assert.deepEqual(Object.keys(headers).sort(), [
      "webhook-id",
      "webhook-signature",
      "webhook-timestamp",
    ]);
    assert.equal(headers["webhook-id"], "msg_42");
    assert.deepEqual(new Webhook(secret).verify(BODY, headers), JSON.parse(BODY));
    // A plain secret signs with its UTF-8 bytes.
    const plain = ctx.sign.standardWebhooks("msg_43", BODY, "plain-secret");
    assert.deepEqual(
      new Webhook(Buffer.from("plain-secret", "utf8"), { format: "raw" }).verify(BODY, plain),
      JSON.parse(BODY),
    );
  });
});
