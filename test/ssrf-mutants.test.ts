/**
 * The SSRF guard's edges (src/outbox/ssrf.ts) that the classification table leaves open:
 * every metadata address, the reason names of rarer ranges (and the fallback for ranges
 * without one), malformed bracketed hosts, a zone id only Node accepts, surrounding
 * whitespace, the exact Teredo-server reason, an empty DNS answer, the error's fields and
 * the system resolver on `localhost` (answered from the hosts file; nothing is sent).
 * Written for mutation testing (`npm run mutate -- ssrf`).
 */
import assert from "node:assert/strict";
import { isIP } from "node:net";
import { describe, test } from "node:test";
import {
  assertUrlAllowed,
  forbiddenAddressReason,
  parseHttpUrl,
  resolveAllowed,
  systemResolver,
  UrlNotAllowedError,
} from "../src/outbox/ssrf.ts";

describe("SSRF guard edges", () => {
  const table: Array<[string, string | null]> = [
    ["169.254.170.2", "metadata"],
    ["100.100.100.200", "metadata"],
    ["::ffff:100.100.100.200", "metadata (IPv4-mapped)"],
    ["100::1", "discard-only"],
    ["2001:2::1", "reserved"],
    ["192.31.196.1", "non-unicast (as112)"],
    ["2001:20::1", "non-unicast (orchid2)"],
    // Teredo: server 10.0.0.1 in bits 32..63, a public client (8.8.8.8 inverted).
    ["2001:0:a00:1:0:0:f7f7:f7f7", "private (Teredo server)"],
    ["2001:0:7f00:1:0:0:f7f7:f7f7", "loopback (Teredo server)"],
    [" 10.0.0.1 ", "private"],
    ["\t8.8.8.8\n", null],
    ["[8.8.8.8]", null],
    ["x8.8.8.8]", "invalid address"],
    ["[8.8.8.8x", "invalid address"],
    ["[::1", "invalid address"],
    ["::1]", "invalid address"],
    // A zone id Node's isIP accepts but ipaddr.js cannot parse: still a reason, no throw.
    ["fe80::1%:", "invalid address"],
  ];
  for (const [ip, want] of table) {
    test(`${JSON.stringify(ip)} → ${want ?? "allowed"}`, () => {
      assert.equal(forbiddenAddressReason(ip), want);
    });
  }

  test("an empty DNS answer is refused as an unresolvable host", async () => {
    await assert.rejects(
      resolveAllowed("empty.example", async () => [], "empty.example:8443"),
      (err: unknown) =>
        err instanceof UrlNotAllowedError &&
        err.reason === "unresolvable host" &&
        err.host === "empty.example:8443",
    );
    await assert.rejects(
      assertUrlAllowed("https://empty.example/x", {
        allowPrivate: false,
        resolver: async () => [],
      }),
      /destination not allowed: empty\.example: unresolvable host/,
    );
  });

  test("the error carries name, code, host and reason; without a host the message has none", () => {
    try {
      parseHttpUrl("not a url");
      assert.fail("parseHttpUrl accepted an invalid URL");
    } catch (err) {
      assert.ok(err instanceof UrlNotAllowedError);
      assert.equal(err.name, "UrlNotAllowedError");
      assert.equal(err.code, "ERR_SWITCHYARD_URL_NOT_ALLOWED");
      assert.equal(err.host, "");
      assert.equal(err.reason, "invalid URL");
      assert.equal(err.message, "destination not allowed: invalid URL");
    }
    assert.throws(
      () => parseHttpUrl("ftp://files.example/x"),
      (err: unknown) =>
        err instanceof UrlNotAllowedError &&
        err.message === "destination not allowed: files.example: scheme",
    );
  });

  test("the system resolver answers localhost with every address and its family", async () => {
    const answers = await systemResolver("localhost");
    assert.ok(answers.length > 0);
    assert.ok(answers.some((a) => a.address === "127.0.0.1"));
    for (const a of answers) assert.equal(a.family, isIP(a.address), a.address);
    // An IPv6 literal is answered without any lookup, as itself with family 6 (this
    // machine's localhost may have no IPv6 address).
    assert.deepEqual(await systemResolver("::1"), [{ address: "::1", family: 6 }]);
  });
});
