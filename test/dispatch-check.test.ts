/**
 * Issue 11 item 7 (and the webhook part of item 6): a dispatch destination the webhook
 * dispatcher could never deliver to is refused when the message is injected (422, nothing
 * stored), as `POST /webhooks` refuses the same URL, instead of a task that completes and a
 * delivery that dies. No traffic is sent: the SSRF check resolves literal addresses only.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";

describe("dispatch destinations are checked at the door", () => {
  let t: TestApp;
  let sid: string;
  before(async () => {
    t = await startTestApp({ env: { SWITCHYARD_ALLOW_PRIVATE_URLS: "false" } });
    sid = await t.session("dispatch-check");
  });
  after(() => t.close());

  const inject = (dispatch_config: Record<string, unknown>) =>
    t.api("POST", `/api/v1/sessions/${sid}/messages`, {
      content: "hi",
      run_agent: true,
      dispatch_config,
    });

  test("a loopback webhook URL: 422 naming the reason, no message and no task stored", async () => {
    const r = await inject({ type: "webhook", url: "http://127.0.0.1:9/hook" });
    assert.equal(r.status, 422);
    assert.equal(r.body.detail, "dispatch_config.url is not allowed: loopback");
    assert.deepEqual((await t.api("GET", `/api/v1/sessions/${sid}/messages`)).body, []);
    const webhooks = await t.api("POST", "/api/v1/webhooks", { url: "http://127.0.0.1:9/hook" });
    assert.equal(webhooks.status, 422, "the same URL is refused for subscriptions too");
  });

  test("a webhook dispatch without a url: 400 from the webhook config schema (item 6)", async () => {
    const r = await inject({ type: "webhook" });
    assert.equal(r.status, 400);
    assert.equal(r.body.detail, "Invalid body: dispatch_config.url: required");
  });

  test("a session whose dispatch_config points at a metadata address: 422", async () => {
    const r = await t.api("POST", "/api/v1/sessions", {
      client_id: "metadata-target",
      dispatch_config: { type: "webhook", url: "http://169.254.169.254/latest" },
    });
    assert.equal(r.status, 422);
    assert.match(r.body.detail, /^dispatch_config\.url is not allowed: metadata/);
  });

  test("other dispatch types and plain messages are not affected", async () => {
    assert.equal((await inject({ type: "none" })).status, 201);
    const plain = await t.api("POST", `/api/v1/sessions/${sid}/messages`, { content: "no run" });
    assert.equal(plain.status, 201);
  });
});
