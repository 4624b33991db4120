/**
 * An outbox attempt's deadline lives as long as the attempt, not as long as its budget:
 * once a delivery is recorded, the signal the worker handed its sender (and, through the
 * outbound HTTP client's `AbortSignal.any` and undici's listeners, the request and its
 * answer) can be collected. An `AbortSignal.timeout` deadline was kept by Node until its
 * timer fired, ~18 s later: under load the heap held every attempt of the last 18 s and
 * after a 10,000-turn run took far longer than the bench's settle to come down (issue 11).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { OutboundHttpClient } from "../src/outbox/http-client.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Collects garbage until `ref` is cleared or tries run out (WeakRefs hold for one job). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 10 && ref.deref(); i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return ref.deref() === undefined;
}

describe("outbox attempt deadline", () => {
  let t: TestApp;
  let hook: CaptureServer;
  const client = new OutboundHttpClient({ allowPrivate: true });
  let seen: WeakRef<AbortSignal> | undefined;

  before(async () => {
    hook = await startCaptureServer();
    t = await startTestApp();
    // A core sender that posts through the outbound client with the worker's signal, as
    // the webhook dispatcher does.
    t.app.deliveryWorker.registerSender("deadline-probe", async (d, signal) => {
      seen = new WeakRef(signal);
      const r = await client.postJson(`${hook.url}/hook`, d.payload, { signal, retries: 0 });
      if (!r.ok) throw new Error(r.error);
      return { httpStatus: r.status ?? undefined };
    });
  });
  after(async () => {
    await t.close();
    await client.close();
    await hook.close();
  });

  test("the signal of a finished attempt is not kept until its deadline", async () => {
    const { outcome } = await t.app.deliveryWorker.sendNow({
      targetType: "deadline-probe",
      target: {},
      payload: { n: 1 },
      destination: "probe:deadline",
    });
    assert.equal(outcome.status, "delivered");
    assert.ok(seen, "the sender ran");
    assert.equal(await collected(seen), true, "the attempt's signal is still reachable");
  });
});
