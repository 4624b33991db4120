/** `GET /metrics`: Prometheus text with deliveries, tasks and queue depth, behind the API key. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";

/** The value of one sample line `name{labels} value`, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("metrics", () => {
  let t: TestApp;
  let capture: CaptureServer;
  before(async () => {
    capture = await startCaptureServer();
    t = await startTestApp();
  });
  after(async () => {
    await t?.close();
    await capture?.close();
  });

  test("a turn delivered by webhook shows up as a task, a delivery attempt and its latency", async () => {
    const noKey = await fetch(`${t.url}/metrics`);
    assert.equal(noKey.status, 401);

    const note = await t.api("POST", "/api/v1/notifications", {
      channel: "webhook",
      message: "count me too",
      webhook_url: `${capture.url}/note`,
    });
    assert.equal(note.status, 201, JSON.stringify(note.body));
    const sessionId = await t.session("metrics:1");
    const r = await t.api("POST", `/api/v1/sessions/${sessionId}/messages`, {
      content: "count me",
      run_agent: true,
      dispatch_config: { type: "webhook", url: `${capture.url}/result` },
    });
    assert.equal(r.status, 201);
    await t.waitForTask(r.body.task_id);
    await capture.waitFor(2);
    // The attempt is recorded just after the receiver answered.
    let text = "";
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${t.url}/metrics`, {
        headers: { authorization: "Bearer test-key-0123456789abcdef" },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
      text = await res.text();
      if (sample(text, 'switchyard_deliveries{status="delivered"}') === 2) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(
      sample(text, 'switchyard_delivery_attempts_total{target_type="webhook",outcome="delivered"}'),
      1,
    );
    assert.equal(
      sample(text, 'switchyard_delivery_attempt_duration_seconds_count{target_type="webhook"}'),
      1,
    );
    assert.equal(sample(text, 'switchyard_tasks{status="complete"}'), 1);
    assert.equal(sample(text, 'switchyard_deliveries{status="delivered"}'), 2);
    assert.equal(
      sample(text, 'switchyard_notifications_total{channel="webhook",delivered="true"}'),
      1,
    );
    assert.equal(
      sample(
        text,
        'switchyard_delivery_attempts_total{target_type="notification",outcome="delivered"}',
      ),
      1,
    );
    assert.equal(sample(text, "switchyard_task_queue_depth"), 0);
    assert.match(text, /# TYPE switchyard_notifications_total counter/);
  });
});
