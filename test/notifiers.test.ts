/**
 * Notification channels from integration folders (`notifier.ts`, DESIGN §5), over real HTTP
 * on 127.0.0.1: a temp INTEGRATION_DIRS folder's notifier becomes a channel of
 * `POST /api/v1/notifications` whose body (and headers, never stored) reach the receiver
 * through the outbox; a folder holding only notifier.ts loads; an unknown channel is
 * refused naming the channels there are (REST 400, the service's 422 for MCP); the shipped
 * slack and discord notifiers send the same bodies as before they left core, and discord's
 * limits are refused at the door; a row queued for a channel whose folder is gone dies
 * with a clear, non-retryable error at delivery.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { OutboundInputError } from "../src/events/outbound-types.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";

/** A secret-like setting the pager notifier sends as a header: never stored. */
const PAGER_TOKEN = "pgr-Secret-Token-0987654321";

/** `pager`: setup.ts (its token) and a notifier with its own body shape and a header. */
function writePager(root: string): string {
  const dir = join(root, "pager");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "setup.ts"),
    `export default { env_vars: [{ key: "PAGER_TOKEN", secret: true }] };\n`,
  );
  writeFileSync(
    join(dir, "notifier.ts"),
    `export default (ctx) => ({
  check: (c) => (c.message.startsWith("!") ? "pager messages must not start with !" : null),
  body: (c) => ({ summary: c.message, severity: c.priority, details: c.attachments }),
  headers: () => ({ authorization: "Token " + ctx.settings.PAGER_TOKEN, "Content-Type": "text/plain" }),
});\n`,
  );
  return dir;
}

/** `beeper`: a folder holding only notifier.ts, whose channel is named `beep`. */
function writeBeeper(root: string): void {
  const dir = join(root, "beeper");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "notifier.ts"),
    `export default () => ({ channel: "beep", body: (c) => ({ beep: c.message }) });\n`,
  );
}

/** `clash`: a notifier that tries to take core's `email`: refused at load, with the reason. */
function writeClash(root: string): void {
  const dir = join(root, "clash");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "notifier.ts"),
    `export default () => ({ channel: "email", body: (c) => c });\n`,
  );
}

async function waitUntil<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const backend of ALL_BACKENDS) {
  describe(`notifiers from integration folders (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    let cap: CaptureServer;
    const dirs = tempDir();

    before(async () => {
      writePager(dirs.path);
      writeBeeper(dirs.path);
      writeClash(dirs.path);
      cap = await startCaptureServer();
      t = await startTestApp({
        backend,
        env: { INTEGRATION_DIRS: dirs.path, PAGER_TOKEN },
        // The first outbox retry is far away: the test replays the row itself.
        tuning: { deliveryScheduleMs: [60_000] },
      });
    });
    after(async () => {
      await t.close();
      await cap.close();
      dirs.remove();
    });

    const notify = (body: Record<string, unknown>) => t.api("POST", "/api/v1/notifications", body);
    const sentTo = (path: string) => cap.requests.filter((r) => r.path === path);

    test("a folder's notifier.ts is a channel: its body and headers reach the receiver; the header is not stored", async () => {
      const r = await notify({
        channel: "pager",
        message: "Disk full",
        priority: "urgent",
        webhook_url: `${cap.url}/pager/in`,
        attachments: [{ host: "db-1" }],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.channel, "pager");
      assert.equal(r.body.delivered, true);
      const req = sentTo("/pager/in")[0]!;
      assert.deepEqual(req.json, {
        summary: "Disk full",
        severity: "urgent",
        details: [{ host: "db-1" }],
      });
      assert.equal(req.headers.authorization, `Token ${PAGER_TOKEN}`);
      assert.equal(req.headers["content-type"], "application/json", "core's header wins");
      assert.equal(req.headers["webhook-id"], r.body.delivery.delivery_id);
      const row = await t.app.store.deliveries.get(r.body.delivery.delivery_id);
      assert.ok(row);
      assert.ok(!JSON.stringify(row).includes(PAGER_TOKEN), "headers are built per attempt");

      const refused = await notify({
        channel: "pager",
        message: "!now",
        webhook_url: `${cap.url}/pager/in`,
      });
      assert.equal(refused.status, 422);
      assert.equal(refused.body.detail, "pager: pager messages must not start with !");
    });

    test("a folder holding only notifier.ts loads, under the channel it names", async () => {
      const rec = t.app.integrations.get("beeper")!;
      assert.deepEqual(rec.parts, ["notifier"]);
      assert.equal(rec.status, "ready");
      const r = await notify({ channel: "beep", message: "hi", webhook_url: `${cap.url}/beep` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(sentTo("/beep")[0]?.json, { beep: "hi" });
      const clash = t.app.integrations.get("clash")!;
      assert.deepEqual(clash.parts, []);
      assert.match(clash.errors[0]!.reason, /"email" is core's own/);
    });

    test("an unknown channel: REST 400 and the service's 422 name every channel there is", async () => {
      const channels = "beep, discord, email, pager, slack, webhook";
      const r = await notify({ channel: "pagr", message: "x", webhook_url: `${cap.url}/x` });
      assert.equal(r.status, 400);
      assert.equal(r.body.detail, `Invalid body: channel: channel must be one of: ${channels}`);
      await assert.rejects(
        t.app.outbound.notify({ channel: "pagr", message: "x", webhook_url: `${cap.url}/x` }),
        (err) =>
          err instanceof OutboundInputError &&
          err.status === 422 &&
          err.message === `channel must be one of: ${channels}`,
      );
      assert.equal(sentTo("/x").length, 0);
    });

    test("slack and discord (integrations/<name>/notifier.ts) send the bodies core used to", async () => {
      const s = await notify({
        channel: "slack",
        message: "Build green",
        webhook_url: `${cap.url}/services/T0/B0/tok`,
        attachments: [{ text: "ok", color: "good" }, "plain note", 42, ["a"]],
      });
      assert.equal(s.status, 201, JSON.stringify(s.body));
      assert.deepEqual(sentTo("/services/T0/B0/tok")[0]?.json, {
        text: "Build green",
        attachments: [
          { text: "ok", color: "good" },
          { text: "plain note" },
          { text: "42" },
          { text: '["a"]' },
        ],
      });
      const d = await notify({
        channel: "discord",
        message: "Deploy done",
        priority: "high",
        webhook_url: `${cap.url}/api/webhooks/1/abc`,
        attachments: [{ title: "v1.2.3", description: "3 services" }, "note", null],
      });
      assert.equal(d.status, 201, JSON.stringify(d.body));
      assert.deepEqual(sentTo("/api/webhooks/1/abc")[0]?.json, {
        content: "Deploy done",
        embeds: [
          { title: "v1.2.3", description: "3 services" },
          { description: "note" },
          { description: "null" },
        ],
      });
    });

    test("discord's limits (2000-char content, 10 embeds) are refused at the door, nothing stored", async () => {
      const before = await t.app.store.notifications.count();
      const url = `${cap.url}/api/webhooks/2/limits`;
      const long = await notify({
        channel: "discord",
        message: "x".repeat(2001),
        webhook_url: url,
      });
      assert.equal(long.status, 422);
      assert.match(long.body.detail, /^discord: message is longer than 2000 characters/);
      const many = await notify({
        channel: "discord",
        message: "x",
        webhook_url: url,
        attachments: Array.from({ length: 11 }, (_, i) => `e${i}`),
      });
      assert.equal(many.status, 422);
      assert.match(many.body.detail, /^discord: at most 10 attachments/);
      assert.equal(await t.app.store.notifications.count(), before);
      const ok = await notify({ channel: "discord", message: "x".repeat(2000), webhook_url: url });
      assert.equal(ok.status, 201, "2000 characters is still fine");
    });

    test("a queued row whose channel's folder is gone dies at delivery with a clear, final error", async () => {
      cap.setResponder((req) => (req.path === "/later" ? { status: 503 } : undefined));
      const r = await notify({
        channel: "pager",
        message: "flaky",
        webhook_url: `${cap.url}/later`,
        retry_count: 0,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.delivery.status, "failed");
      const id = r.body.delivery.delivery_id;

      // The folder loses its notifier and reloads (as after an edit): the channel is gone.
      const rec = t.app.integrations.get("pager")!;
      rmSync(join(rec.dir, "notifier.ts"));
      await t.app.integrations.load(rec);
      assert.ok(!t.app.notifiers.has("pager"));
      const gone = await notify({ channel: "pager", message: "x", webhook_url: `${cap.url}/x` });
      assert.equal(gone.status, 400);
      assert.doesNotMatch(gone.body.detail, /pager/);

      assert.equal((await t.api("POST", `/api/v1/deliveries/${id}/replay`)).status, 200);
      const dead = await waitUntil(async () => {
        const d = await t.api("GET", `/api/v1/deliveries/${id}`);
        return d.body.status === "dead" ? d.body : undefined;
      });
      assert.match(
        dead.last_error,
        /^notification channel "pager" is no longer available \(no integration provides it\); channels: beep, discord, email, slack, webhook$/,
      );
      assert.equal(sentTo("/later").length, 1, "only the first attempt was sent");
      const history = (await t.api("GET", "/api/v1/notifications?limit=5")).body;
      const n = history.find((x: any) => x.id === r.body.notification_id);
      assert.equal(n.delivered, false);
      assert.equal(n.meta.delivery.status, "dead");
    });
  });
}
