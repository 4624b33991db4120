// SSRF classification (ipaddr.js) and the registration-time URL check. No network:
// host names come from an injected resolver, IP literals are never resolved.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { redactUrl } from "../src/lib/redact.ts";
import type { Connector } from "../src/outbox/connector.ts";
import { OutboundHttpClient } from "../src/outbox/http-client.ts";
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
    // Teredo (2001:0::/32): server IPv4 in bits 32..63, the client (public here) inverted.
    ["2001:0:a00:1::f7f7:f7f7", "private (Teredo server)"],
    ["2001:0000:0a00:0001:0000:0000:f7f7:f7f7", "private (Teredo server)"],
    ["2001:0:c0a8:101::f7f7:f7f7", "private (Teredo server)"],
    ["2001:0:7f00:1::f7f7:f7f7", "loopback (Teredo server)"],
    ["2001:0:a9fe:a9fe::f7f7:f7f7", "metadata (Teredo server)"],
    ["2001:0:6440:1::f7f7:f7f7", "carrier-grade NAT (Teredo server)"],
    ["2001::1", "unspecified (Teredo server)"],
    ["2001:0:808:808::80ff:fffe", "loopback (Teredo client)"],
    ["2001:0:808:808::f7f7:f7f7", null],
    ["::ffff:0:7f00:1", "loopback (IPv4-translated)"],
    ["2002:a9fe:a9fe::", "metadata (6to4)"],
    ["64:ff9b::a9fe:a9fe", "metadata (NAT64)"],
    ["::ffff:100.64.0.1", "carrier-grade NAT (IPv4-mapped)"],
    ["0.1.2.3", "unspecified"],
    ["198.18.0.1", "reserved"],
    ["100::1", "discard-only"],
    ["169.254.170.2", "metadata"],
    ["100.100.100.200", "metadata"],
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

describe("SSRF: every forbidden form, by name, refused by the outbound client before dialling", () => {
  /** One host name per form; the injected resolver answers it, nothing leaves the process. */
  const forms: Array<[string, string, string]> = [
    ["private-v4", "10.0.0.1", "private"],
    ["loopback-v4", "127.0.0.1", "loopback"],
    ["loopback-v6", "::1", "loopback"],
    ["metadata", "169.254.169.254", "metadata"],
    ["metadata-v6", "fd00:ec2::254", "metadata"],
    ["link-local", "169.254.1.1", "link-local"],
    ["cgnat", "100.64.0.1", "carrier-grade NAT"],
    ["mapped", "::ffff:10.0.0.1", "private (IPv4-mapped)"],
    ["translated", "::ffff:0:a00:1", "private (IPv4-translated)"],
    ["nat64", "64:ff9b::7f00:1", "loopback (NAT64)"],
    ["nat64-local", "64:ff9b:1::1", "reserved (local-use NAT64)"],
    ["6to4", "2002:a00:1::", "private (6to4)"],
    ["teredo-server", "2001:0:a00:1::f7f7:f7f7", "private (Teredo server)"],
    ["teredo-server-metadata", "2001:0:a9fe:a9fe::f7f7:f7f7", "metadata (Teredo server)"],
    ["teredo-client", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "private (Teredo client)"],
    ["v4-compatible", "::a00:1", "reserved"],
    ["unique-local", "fc00::1", "unique-local"],
    ["site-local", "fec0::1", "site-local"],
    ["unspecified", "0.0.0.0", "unspecified"],
    ["multicast", "ff02::1", "multicast"],
    ["documentation", "2001:db8::1", "reserved"],
  ];
  const resolver = tableResolver(
    Object.fromEntries(forms.map(([name, address]) => [`${name}.example`, [address]])),
  );
  const dials: string[] = [];
  /** Records what would be dialled and connects nowhere. */
  const connector: Connector = (options, callback) => {
    dials.push(options.hostname);
    queueMicrotask(() =>
      callback(Object.assign(new Error("spy: refused"), { code: "ECONNREFUSED" }), null),
    );
  };
  const client = new OutboundHttpClient({
    allowPrivate: false,
    resolver,
    connector,
    baseRetryDelayMs: 1,
  });
  after(() => client.close());

  for (const [name, address, reason] of forms) {
    test(`${name}.example → ${address} is refused: ${reason}`, async () => {
      await assert.rejects(
        assertUrlAllowed(`https://${name}.example/hook`, { allowPrivate: false, resolver }),
        (err: unknown) => err instanceof UrlNotAllowedError && err.reason === reason,
      );
      const r = await client.postJson(`http://${name}.example/hook`, { ping: 1 });
      assert.equal(r.ok, false);
      assert.equal(r.retryable, false);
      assert.equal(r.error, `destination not allowed: ${reason}`);
      assert.deepEqual(dials, [], "nothing dialled");
    });
  }
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
