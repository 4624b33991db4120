// SSRF classification (ipaddr.js) and the registration-time URL check. No network:
// host names come from an injected resolver, IP literals are never resolved.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { redactUrl } from "../src/lib/redact.ts";
import {
  assertUrlAllowed,
  forbiddenAddressReason,
  UrlNotAllowedError,
} from "../src/outbox/ssrf.ts";
import { tableResolver } from "./support/resolver.ts";

describe("SSRF: address classification", () => {
  const table: Array<[string, string | null]> = [
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["192.168.1.1", "private"],
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["169.254.169.254", "metadata"],
    ["169.254.1.1", "link-local"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["::ffff:10.0.0.1", "private (IPv4-mapped)"],
    ["::ffff:a00:1", "private (IPv4-mapped)"],
    ["::ffff:127.0.0.1", "loopback (IPv4-mapped)"],
    ["::ffff:169.254.169.254", "metadata (IPv4-mapped)"],
    ["::ffff:0:a00:1", "private (IPv4-translated)"],
    ["64:ff9b::a00:1", "private (NAT64)"],
    ["64:ff9b::7f00:1", "loopback (NAT64)"],
    ["64:ff9b:1::1", "reserved (local-use NAT64)"],
    ["2002:a00:1::", "private (6to4)"],
    ["2002:7f00:1::", "loopback (6to4)"],
    ["2001:0:4136:e378:8000:63bf:f5ff:fffe", "private (Teredo client)"],
    ["::a00:1", "reserved"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["fc00::1", "unique-local"],
    ["fd00:ec2::254", "metadata"],
    ["fec0::1", "site-local"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["192.0.2.1", "reserved"],
    ["198.51.100.7", "reserved"],
    ["203.0.113.9", "reserved"],
    ["240.0.0.1", "reserved"],
    ["2001:db8::1", "reserved"],
    ["0x7f.1", "invalid address"],
    ["not-an-ip", "invalid address"],
    ["8.8.8.8", null],
    ["93.184.216.34", null],
    ["2606:4700::1111", null],
    ["64:ff9b::808:808", null],
    ["2002:808:808::", null],
  ];
  for (const [ip, reason] of table) {
    test(`${ip} → ${reason ?? "allowed"}`, () => {
      assert.equal(forbiddenAddressReason(ip), reason);
    });
  }
});

describe("SSRF: registration-time check", () => {
  const resolver = tableResolver({
    "internal.example": ["10.1.2.3"],
    "public.example": ["93.184.216.34"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
  });

  test("a host resolving to a private address is refused; a public one is allowed", async () => {
    await assertUrlAllowed("https://public.example/hook", { allowPrivate: false, resolver });
    await assert.rejects(
      assertUrlAllowed("https://internal.example/hook", { allowPrivate: false, resolver }),
      (err: unknown) =>
        err instanceof UrlNotAllowedError &&
        err.reason === "private" &&
        err.message.includes("internal.example"),
    );
    await assert.rejects(
      assertUrlAllowed("https://mixed.example/", { allowPrivate: false, resolver }),
      { reason: "loopback" },
    );
    await assert.rejects(
      assertUrlAllowed("https://nowhere.example/", { allowPrivate: false, resolver }),
      { reason: "unresolvable host" },
    );
    await assert.rejects(assertUrlAllowed("http://[::ffff:127.0.0.1]/", { allowPrivate: false }), {
      reason: "loopback (IPv4-mapped)",
    });
  });

  test("only http and https are accepted, even with allowPrivate", async () => {
    for (const url of ["ftp://public.example/", "file:///etc/passwd", "gopher://x/", "nonsense"]) {
      await assert.rejects(
        assertUrlAllowed(url, { allowPrivate: true, resolver }),
        UrlNotAllowedError,
      );
    }
    await assertUrlAllowed("http://10.0.0.1/", { allowPrivate: true, resolver });
  });

  test("messages name host and reason but no userinfo, path or query", async () => {
    const url = "https://bob:hunter22@internal.example/services/T0/B0/tok3n?token=abc123";
    const err = await assertUrlAllowed(url, { allowPrivate: false, resolver }).then(
      () => assert.fail("expected a refusal"),
      (e: unknown) => e as UrlNotAllowedError,
    );
    assert.equal(err.message, "destination not allowed: internal.example: private");
    for (const secret of ["bob", "hunter22", "tok3n", "abc123", "token"]) {
      assert.ok(!err.message.includes(secret), `message leaks ${secret}`);
    }
  });
});

describe("redactUrl", () => {
  test("keeps scheme, host and port only", () => {
    assert.equal(
      redactUrl("https://u:p@hooks.example:8443/services/T/B/secret?x=1#f"),
      "https://hooks.example:8443",
    );
    assert.equal(redactUrl("http://[::1]/x"), "http://[::1]");
    assert.equal(redactUrl("not a url"), "<invalid URL>");
  });
});
