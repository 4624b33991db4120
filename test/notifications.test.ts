/**
 * Notifications over real HTTP and SMTP on 127.0.0.1: the body each channel sends, input
 * checks and the request-time SSRF check, email through a local SMTP server (and kept with
 * the reason without SMTP_URL), inline retries, the durable outbox retry turning the
 * history's `delivered` true, and the 200-entry history cap.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { SMTPServer } from "smtp-server";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

const SMTP_USER = "mailer";
const SMTP_PASS = "smtp-Pa55-word-xyz";
/** A token in the path of an incoming-webhook URL: never shown back. */
const URL_TOKEN = "XyZtOkEn1234567890";

interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** A local SMTP server (smtp-server, by the nodemailer authors) that keeps what it receives. */
async function startSmtp(): Promise<{
  url: string;
  mails: ReceivedMail[];
  close(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASS) cb(null, { user: SMTP_USER });
      else cb(new Error("Invalid username or password"));
    },
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith("nobody@")) {
        return cb(Object.assign(new Error("No such user here"), { responseCode: 550 }));
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
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
  describe(`notifications (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    let cap: CaptureServer;
    let smtp: Awaited<ReturnType<typeof startSmtp>>;

    before(async () => {
      cap = await startCaptureServer();
      smtp = await startSmtp();
      t = await startTestApp({
        backend,
        env: { SMTP_URL: smtp.url, SMTP_FROM: "alerts@switchyard.test" },
        tuning: { deliveryScheduleMs: [300, 300, 300, 300, 300, 300, 300, 300] },
      });
    });
    after(async () => {
      await t.close();
      await cap.close();
      await smtp.close();
    });

    const notify = (body: Record<string, unknown>) => t.api("POST", "/api/v1/notifications", body);
    const sentTo = (path: string) => cap.requests.filter((r) => r.path === path);

    test("each channel's body: slack {text, attachments}, discord {content, embeds}, webhook {message, attachments}", async () => {
      const slack = await notify({
        channel: "slack",
        message: "Build green",
        webhook_url: `${cap.url}/services/T0/B0/${URL_TOKEN}`,
        attachments: [{ text: "all 312 tests passed", color: "good" }, "plain note"],
      });
      assert.equal(slack.status, 201, JSON.stringify(slack.body));
      assert.equal(slack.body.success, true);
      assert.equal(slack.body.delivered, true);
      assert.equal(slack.body.channel, "slack");
      assert.equal(slack.body.priority, "normal", "priority defaults to normal");
      assert.equal(slack.body.delivery.status, "delivered");
      assert.equal(slack.body.delivery.http_status, 200);
      assert.equal(slack.body.delivery.attempts, 1);
      assert.deepEqual(sentTo(`/services/T0/B0/${URL_TOKEN}`)[0]?.json, {
        text: "Build green",
        attachments: [{ text: "all 312 tests passed", color: "good" }, { text: "plain note" }],
      });

      const discord = await notify({
        channel: "discord",
        message: "Deploy done",
        priority: "high",
        webhook_url: `${cap.url}/api/webhooks/1/abc`,
        attachments: [{ title: "v1.2.3", description: "3 services" }],
      });
      assert.equal(discord.body.delivered, true);
      assert.equal(discord.body.priority, "high");
      assert.deepEqual(sentTo("/api/webhooks/1/abc")[0]?.json, {
        content: "Deploy done",
        embeds: [{ title: "v1.2.3", description: "3 services" }],
      });

      const hook = await notify({
        channel: "webhook",
        message: "Queue backlog",
        webhook_url: `${cap.url}/generic`,
      });
      assert.equal(hook.body.delivered, true);
      const req = sentTo("/generic")[0]!;
      assert.deepEqual(req.json, { message: "Queue backlog", attachments: [] });
      assert.equal(req.headers["content-type"], "application/json");
      assert.equal(req.headers["webhook-id"], hook.body.delivery.delivery_id);

      const list = await t.api("GET", "/api/v1/notifications?limit=3");
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.map((n: any) => [n.channel, n.message, n.priority, n.delivered]),
        [
          ["webhook", "Queue backlog", "normal", true],
          ["discord", "Deploy done", "high", true],
          ["slack", "Build green", "normal", true],
        ],
      );
      const s = list.body[2];
      assert.equal(s.id, slack.body.notification_id);
      assert.equal(s.meta.destination, cap.url, "only scheme://host:port of the URL");
      assert.equal(s.meta.attachments, 2);
      assert.equal(s.meta.delivery.status, "delivered");
      assert.ok(!JSON.stringify([slack.body, list.body]).includes(URL_TOKEN));
    });

    test("bad input: 400 for what breaks the schema, 422 for the service's refusals; nothing is stored", async () => {
      const before = await t.app.store.notifications.count();
      const cases: Array<[Record<string, unknown>, number, RegExp]> = [
        [{ channel: "pager", message: "x" }, 400, /channel/],
        [{ channel: "slack", webhook_url: `${cap.url}/x` }, 400, /message/],
        [{ channel: "slack", message: "  " }, 400, /message: must not be empty/],
        [{ channel: "discord", message: "x" }, 422, /webhook_url is required/],
        [
          { channel: "webhook", message: "x", webhook_url: "ftp://example.com/x" },
          422,
          /http or https/,
        ],
        [{ channel: "webhook", message: "x", webhook_url: "not a url" }, 422, /not a valid URL/],
        [
          { channel: "webhook", message: "x", webhook_url: `${cap.url}/x`, priority: "p1" },
          400,
          /priority/,
        ],
        [
          { channel: "webhook", message: "x", webhook_url: `${cap.url}/x`, retry_count: 99 },
          400,
          /retry_count/,
        ],
        [
          { channel: "email", message: "x", webhook_url: "mailto:not-an-address" },
          422,
          /email address/,
        ],
        [{ channel: "email", message: "x" }, 422, /needs a recipient/],
        [{ channel: "slack", message: 5 }, 400, /message/],
      ];
      for (const [body, status, detail] of cases) {
        const r = await notify(body);
        assert.equal(r.status, status, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
        assert.match(r.body.detail, detail);
      }
      assert.equal(await t.app.store.notifications.count(), before);
    });

    test("email goes over SMTP (auth from SMTP_URL) with subject, body, sender and recipient", async () => {
      const r = await notify({
        channel: "email",
        message: "Disk almost full\nvolume data is at 93 percent",
        priority: "urgent",
        webhook_url: "mailto:ops@example.com?subject=ignored",
        attachments: [{ host: "db-1" }],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.delivered, true);
      assert.equal(r.body.delivery.status, "delivered");
      const plain = await notify({
        channel: "email",
        message: "Nightly backup ok",
        webhook_url: "team@example.com",
      });
      assert.equal(plain.body.delivered, true);

      assert.equal(smtp.mails.length, 2);
      const [m1, m2] = smtp.mails;
      assert.equal(m1!.from, "alerts@switchyard.test");
      assert.deepEqual(m1!.to, ["ops@example.com"]);
      assert.match(m1!.raw, /^Subject: \[switchyard\] \[URGENT\] Disk almost full\r?$/m);
      assert.match(m1!.raw, /volume data is at 93 percent/);
      assert.match(m1!.raw, /"host": "db-1"/);
      assert.match(m1!.raw, /^X-Priority: 1/m);
      assert.match(
        m1!.raw,
        new RegExp(`^Message-ID: <${r.body.delivery.delivery_id}@switchyard>`, "m"),
      );
      assert.deepEqual(m2!.to, ["team@example.com"]);
      assert.match(m2!.raw, /^Subject: \[switchyard\] Nightly backup ok\r?$/m);

      const list = await t.api("GET", "/api/v1/notifications?limit=1");
      assert.equal(list.body[0].meta.to, "team@example.com");
      assert.equal(list.body[0].delivered, true);
    });

    test("a refused recipient is dead at once (success false) and the SMTP password never shows", async () => {
      const r = await notify({
        channel: "email",
        message: "hi",
        webhook_url: "nobody@example.com",
      });
      assert.equal(r.status, 201);
      assert.equal(r.body.success, false);
      assert.equal(r.body.delivered, false);
      assert.equal(r.body.delivery.status, "dead");
      assert.match(r.body.delivery.error, /550/);
      const list = await t.api("GET", "/api/v1/notifications?limit=1");
      assert.equal(list.body[0].meta.delivery.status, "dead");
      const state = await t.api("GET", "/api/v1/state");
      for (const text of [r.body, list.body, state.body].map((b) => JSON.stringify(b))) {
        assert.ok(!text.includes(SMTP_PASS), "no SMTP password");
        assert.ok(!text.includes(`${SMTP_USER}:`), "no SMTP credentials");
      }
    });

    test("receiver answers 500 then 200: delivered inline on the retry", async () => {
      cap.setResponder((req) => {
        if (req.path !== "/flaky") return undefined;
        return sentTo("/flaky").length === 1 ? { status: 500 } : undefined;
      });
      const r = await notify({
        channel: "webhook",
        message: "retry me",
        webhook_url: `${cap.url}/flaky`,
      });
      cap.setResponder(() => undefined);
      assert.equal(r.body.delivered, true, JSON.stringify(r.body));
      assert.equal(r.body.delivery.attempts, 2);
      assert.equal(r.body.delivery.http_status, 200);
      assert.equal(sentTo("/flaky").length, 2);
      assert.equal(
        sentTo("/flaky")[0]!.headers["webhook-id"],
        sentTo("/flaky")[1]!.headers["webhook-id"],
      );
    });

    test("a 4xx answer is not retried: dead, success false", async () => {
      cap.setResponder((req) => (req.path === "/gone" ? { status: 404 } : undefined));
      const r = await notify({ channel: "webhook", message: "x", webhook_url: `${cap.url}/gone` });
      cap.setResponder(() => undefined);
      assert.equal(r.body.success, false);
      assert.equal(r.body.delivery.status, "dead");
      assert.equal(r.body.delivery.http_status, 404);
      assert.equal(sentTo("/gone").length, 1);
    });

    test("receiver down: delivered false now, the outbox retry delivers later and the history says so", async () => {
      const port = await freePort();
      const r = await notify({
        channel: "slack",
        message: "eventually",
        webhook_url: `http://127.0.0.1:${port}/services/${URL_TOKEN}`,
        retry_count: 0,
        timeout_ms: 2000,
      });
      assert.equal(r.status, 201);
      assert.equal(r.body.success, true, "queued for a retry");
      assert.equal(r.body.delivered, false);
      assert.equal(r.body.delivery.status, "failed");
      assert.match(r.body.delivery.error, /network error/);
      const id = r.body.notification_id;
      const first = (await t.api("GET", "/api/v1/notifications?limit=5")).body.find(
        (n: any) => n.id === id,
      );
      assert.equal(first.delivered, false);

      const got: any[] = [];
      const receiver: Server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
          got.push({ path: req.url, json: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
          res.writeHead(200).end("ok");
        });
      });
      await new Promise<void>((res) => receiver.listen(port, "127.0.0.1", res));
      try {
        const entry = await waitUntil(async () => {
          const list = (await t.api("GET", "/api/v1/notifications?limit=20")).body;
          const n = list.find((x: any) => x.id === id);
          // `delivered` is set by the send; the attempt's outcome is recorded just after it.
          return n?.delivered && n.meta.delivery.status === "delivered" ? n : undefined;
        });
        assert.equal(entry.meta.delivery.status, "delivered");
        assert.ok(entry.meta.delivery.attempts >= 2);
        assert.deepEqual(got[0], {
          path: `/services/${URL_TOKEN}`,
          json: { text: "eventually", attachments: [] },
        });
        const row = await t.app.store.db.kysely
          .selectFrom("notifications")
          .select("delivered")
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.delivered), 1, "the stored flag is set by the sender");
      } finally {
        receiver.closeAllConnections();
        await new Promise<void>((res) => receiver.close(() => res()));
      }
    });

    test("history keeps the newest 200: write 205, list shows 200 newest, the table has 200", async () => {
      for (let i = 0; i < 205; i++) {
        const r = await notify({
          channel: "webhook",
          message: `n-${i}`,
          webhook_url: `${cap.url}/bulk`,
        });
        assert.equal(r.status, 201);
      }
      const list = await t.api("GET", "/api/v1/notifications?limit=200");
      assert.equal(list.body.length, 200);
      assert.deepEqual(
        list.body.map((n: any) => n.message),
        Array.from({ length: 200 }, (_, k) => `n-${204 - k}`),
      );
      assert.equal(await t.app.store.notifications.count(), 200);
      assert.equal((await t.api("GET", "/api/v1/notifications?limit=201")).status, 400);
      assert.equal((await t.api("GET", "/api/v1/notifications")).body.length, 50, "default limit");
    });
  });

  describe(`notifications without SMTP, private URLs refused (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({
        backend,
        env: { SWITCHYARD_ALLOW_PRIVATE_URLS: "false" },
        tuning: {
          resolver: async (host) =>
            host === "hooks.internal.test" ? [{ address: "10.1.2.3", family: 4 }] : [],
        },
      });
    });
    after(() => t.close());

    test("email without SMTP_URL is kept with delivered false and the reason", async () => {
      const r = await t.api("POST", "/api/v1/notifications", {
        channel: "email",
        message: "no mail server",
      });
      assert.equal(r.status, 201);
      assert.equal(r.body.success, false);
      assert.equal(r.body.delivered, false);
      assert.deepEqual(r.body.delivery, {
        delivery_id: null,
        status: "not_sent",
        http_status: null,
        attempts: 0,
        error: "not sent: SMTP_URL is not set",
      });
      const list = (await t.api("GET", "/api/v1/notifications")).body;
      assert.equal(list.length, 1);
      assert.equal(list[0].delivered, false);
      assert.equal(list[0].meta.error, "not sent: SMTP_URL is not set");
    });

    test("webhook_url resolving to a private, loopback or metadata address: 422 at request time", async () => {
      for (const [url, reason] of [
        ["http://hooks.internal.test/hook", /private/],
        ["http://127.0.0.1:9/hook", /loopback/],
        ["http://169.254.169.254/latest/meta-data", /metadata/],
        ["http://nowhere.invalid/x", /unresolvable host/],
      ] as const) {
        const r = await t.api("POST", "/api/v1/notifications", {
          channel: "webhook",
          message: "x",
          webhook_url: url,
        });
        assert.equal(r.status, 422, JSON.stringify(r.body));
        assert.match(r.body.detail, reason);
        assert.doesNotMatch(r.body.detail, /\/hook|meta-data/, "no path in the message");
      }
      assert.equal(await t.app.store.notifications.count(), 1, "only the email above");
    });
  });
}
