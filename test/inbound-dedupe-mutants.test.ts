/**
 * Receipt retention (src/sessions/service.ts, src/store/inbound-receipts.ts): accepted
 * dedupe keys are kept RECEIPT_RETENTION_MS (7 days, since providers redeliver for up to 3):
 * the first keyed injection of a process prunes receipts older than that and keeps younger
 * ones, so a late redelivery of a 6-day-old key is still a duplicate. Written for mutation
 * testing (`npm run mutate -- inbound-dedupe`).
 */
import assert from "node:assert/strict";
import { after, describe, mock, test } from "node:test";
import { RECEIPT_RETENTION_MS } from "../src/sessions/service.ts";
import { startTestApp, type TestApp } from "./support/app.ts";

const DAY_MS = 24 * 3600_000;

/** Claims (source, key) as if it had been accepted at `at` (epoch ms). */
async function claimAt(t: TestApp, key: string, at: number): Promise<void> {
  const now = mock.method(Date, "now", () => at);
  try {
    assert.equal(await t.app.store.receipts.claim("provider-x", key), undefined);
  } finally {
    now.mock.restore();
  }
}

describe("inbound receipt retention", () => {
  let t: TestApp | undefined;
  after(async () => {
    await t?.close();
  });

  test("7 days: a 6-day-old key still dedupes, an 8-day-old one is pruned", async () => {
    assert.equal(RECEIPT_RETENTION_MS, 7 * DAY_MS);
    t = await startTestApp({ tuning: { pollMs: 60_000 } });
    const app = t;
    const sessionId = await app.session("dedupe:retention");
    const now = Date.now();
    await claimAt(app, "six-days", now - 6 * DAY_MS);
    await claimAt(app, "eight-days", now - 8 * DAY_MS);

    // A keyed injection starts the prune (at most once an hour per process, not awaited).
    const fresh = await app.app.sessions.injectMessage(sessionId, {
      content: "new",
      source: "provider-x",
      dedupeKey: "today",
    });
    assert.equal(fresh.duplicate, false);

    // The 8-day-old key is forgotten: wait until claiming it succeeds again.
    const deadline = Date.now() + 10_000;
    while ((await app.app.store.receipts.claim("provider-x", "eight-days")) !== undefined) {
      assert.ok(Date.now() < deadline, "the 8-day-old receipt was never pruned");
      await new Promise((r) => setTimeout(r, 20));
    }
    // The same DELETE kept the younger ones: their redelivery is still a duplicate.
    const late = await app.app.sessions.injectMessage(sessionId, {
      content: "late copy",
      source: "provider-x",
      dedupeKey: "six-days",
    });
    assert.equal(late.duplicate, true, "a 6-day-old delivery id is remembered");
    const again = await app.app.sessions.injectMessage(sessionId, {
      content: "new",
      source: "provider-x",
      dedupeKey: "today",
    });
    assert.equal(again.duplicate, true);
    assert.equal(again.messageId, fresh.messageId, "a duplicate answers with the first ids");
  });
});
