/** Issue 11 item 10: a masked secret shows none of its characters, or only its last 4 when long. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { maskSecret } from "../src/integrations/settings.ts";

test("maskSecret shows no character of a secret up to 20 long, and only the last 4 of a longer one", () => {
  assert.equal(maskSecret(""), "****");
  assert.equal(maskSecret("short"), "****");
  assert.equal(maskSecret("exactly-twenty-chars"), "****", "20 characters: nothing shown");
  assert.equal(maskSecret("ghp_0123456789abcdefghij"), "****ghij");
  const long = "sk-live-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const masked = maskSecret(long);
  assert.ok(!masked.includes("sk-"), "never the start");
  assert.equal(masked.replaceAll("*", "").length, 4, "at most 4 characters");
});
