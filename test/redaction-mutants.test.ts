/**
 * Redaction of configuration objects for API responses (src/lib/redact.ts), each rule held
 * by a row: every secret-name form is masked at any depth and in arrays, numbers and
 * booleans under a secret name too, null stays null, URLs lose everything after the host,
 * and nothing else changes. Written for mutation testing (`npm run mutate -- redaction`).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { redactConfig, redactUrl } from "../src/lib/redact.ts";

describe("redactConfig", () => {
  test("every secret-name form is masked, in any case", () => {
    const names = [
      "secret",
      "clientSecret",
      "ACCESS_TOKEN",
      "token",
      "password",
      "db_passwd",
      "apikey",
      "api_key",
      "api-key",
      "X-Api-Key",
      "Authorization",
      "credential",
      "credentials",
    ];
    for (const name of names) {
      assert.deepEqual(redactConfig({ [name]: "s3cr3t-value" }), { [name]: "****" }, name);
    }
  });

  test("names that only look alike are kept", () => {
    const kept = {
      apiXkey: "v1",
      keyring: "v3",
      author: "v4",
      secre: "v5",
      monkey: "v6",
      hotKeys: "v7",
    };
    assert.deepEqual(redactConfig(kept), kept);
  });

  test("secrets nested in objects and arrays are masked at every depth", () => {
    const input = {
      name: "hook",
      auth: { header: { authorization: "Bearer abc" }, tokens: ["t1", "t2"] },
      list: [{ password: "p" }, { plain: "x" }],
    };
    assert.deepEqual(redactConfig(input), {
      name: "hook",
      auth: { header: { authorization: "****" }, tokens: ["****", "****"] },
      list: [{ password: "****" }, { plain: "x" }],
    });
  });

  test("numbers and booleans under a secret name are masked, null kept, objects masked inside", () => {
    assert.deepEqual(
      redactConfig({ pin_password: 1234, secret: true, token: null, credential: { user: "u" } }),
      { pin_password: "****", secret: "****", token: null, credential: { user: "****" } },
    );
    assert.equal(redactConfig(undefined), undefined);
    assert.equal(redactConfig(null), null);
  });

  test("values under ordinary names are returned unchanged", () => {
    assert.deepEqual(redactConfig({ n: 3, b: false, s: "text", z: null, a: [1, "x"] }), {
      n: 3,
      b: false,
      s: "text",
      z: null,
      a: [1, "x"],
    });
    assert.equal(redactConfig(42), 42);
    assert.equal(redactConfig("plain"), "plain");
    assert.equal(redactConfig("s3cr3t", "apiKey"), "****", "a string under a secret key");
  });

  test("http(s) URLs keep scheme and host only, and say when something was cut", () => {
    assert.deepEqual(
      redactConfig({
        url: "https://hooks.example/services/T/B/xyz?q=1",
        other: "HTTP://Host.example:8080/p",
        bare: "https://hooks.example",
        slash: "https://hooks.example/",
        userinfo: "https://user:pw@hooks.example",
        ftp: "ftp://files.example/secret/path",
        text: "see https://x.example/y",
      }),
      {
        url: "https://hooks.example/…",
        other: "http://host.example:8080/…",
        bare: "https://hooks.example",
        slash: "https://hooks.example",
        userinfo: "https://hooks.example/…",
        ftp: "ftp://files.example/secret/path",
        text: "see https://x.example/y",
      },
    );
  });
});

describe("redactUrl", () => {
  test("takes a string or a URL object, and never throws", () => {
    assert.equal(redactUrl(new URL("https://a:b@h.example:444/p?q#f")), "https://h.example:444");
    assert.equal(redactUrl("https://a:b@h.example/p"), "https://h.example");
    assert.equal(redactUrl("::"), "<invalid URL>");
  });
});
