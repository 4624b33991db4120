/**
 * Redaction of configuration in API responses (`lib/redact.ts`): every secret-name form is
 * masked, at any depth, in objects and arrays; other names and URLs keep their shape. Then
 * the same over real HTTP: a delivery's target and payload as GET /api/v1/deliveries/{id}
 * returns them, and the stored dispatch_config of a session, a task and a job as every read
 * of them returns it (one and many), on both backends.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isSecretName, redactConfig } from "../src/lib/redact.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

/** Every form a secret's name takes in configs seen in the wild. */
const SECRET_NAMES = [
  "token",
  "Token",
  "access_token",
  "accessToken",
  "refresh_token",
  "bot_token",
  "x-auth-token",
  "secret",
  "client_secret",
  "webhookSecret",
  "password",
  "Password",
  "db_password",
  "passwd",
  "api_key",
  "apikey",
  "apiKey",
  "api-key",
  "X-API-Key",
  "authorization",
  "Authorization",
  "proxy_authorization",
  "credential",
  "credentials",
  "key",
  "private_key",
  "signing-key",
  "privateKey",
];

/** Names that are not secrets and must stay readable. */
const PLAIN_NAMES = ["type", "url", "session_id", "keyboard", "monkey", "key_id"];

describe("redaction of secret names", () => {
  for (const name of SECRET_NAMES) {
    test(`"${name}" is masked at the top, nested in an object, and in an array`, () => {
      assert.ok(isSecretName(name));
      const cfg = {
        [name]: "s3cr3t-value",
        nested: { deeper: { [name]: "s3cr3t-value" } },
        list: [{ [name]: "s3cr3t-value" }, [{ [name]: 12345 }]],
        [`${name}`]: "s3cr3t-value",
      };
      const out = redactConfig(cfg) as any;
      assert.equal(out[name], "****");
      assert.equal(out.nested.deeper[name], "****");
      assert.equal(out.list[0][name], "****");
      assert.equal(out.list[1][0][name], "****", "numbers too");
      assert.ok(!JSON.stringify(out).includes("s3cr3t"));
      assert.ok(!JSON.stringify(out).includes("12345"));
    });
  }

  test("plain names keep their values; URLs are cut to scheme://host/…", () => {
    for (const name of PLAIN_NAMES) assert.equal(isSecretName(name), false, name);
    const out = redactConfig({
      type: "webhook",
      session_id: "s-1",
      keyboard: "qwerty",
      url: "https://hooks.example.com/services/T000/B000/XXXX?sig=abc",
      plain: "https://example.com",
    });
    assert.deepEqual(out, {
      type: "webhook",
      session_id: "s-1",
      keyboard: "qwerty",
      url: "https://hooks.example.com/…",
      plain: "https://example.com",
    });
  });

  test("everything under a secret-named key is masked, arrays and objects alike", () => {
    const out = redactConfig({
      credentials: { username: "bob", password: "pw", extra: ["a", { pin: 1234 }] },
      tokens: ["t1", "t2"],
      headers: { Authorization: "Bearer abc", "content-type": "application/json" },
    });
    assert.deepEqual(out, {
      credentials: { username: "****", password: "****", extra: ["****", { pin: "****" }] },
      tokens: ["****", "****"],
      headers: { Authorization: "****", "content-type": "application/json" },
    });
  });
});

describe("redaction over HTTP: a delivery's target and payload", () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
    t.app.deliveryWorker.registerSender("redaction-probe", async () => {});
  });
  after(() => t.close());

  test("GET /api/v1/deliveries/{id} shows no secret, however deep", async () => {
    const secretOf = (name: string) => `value-of-${name}-9f8e7d`;
    const all = Object.fromEntries(SECRET_NAMES.map((n) => [n, secretOf(n)]));
    const { delivery } = await t.app.deliveryWorker.sendNow({
      targetType: "redaction-probe",
      target: { url: "http://127.0.0.1:1/x?token=abc", auth: all, list: [all] },
      payload: { nested: { level: [{ deeper: all }] }, ...all },
      destination: "probe:redaction",
    });
    const r = await t.api("GET", `/api/v1/deliveries/${delivery.id}`);
    assert.equal(r.status, 200);
    const text = JSON.stringify(r.body);
    for (const name of SECRET_NAMES) assert.ok(!text.includes(secretOf(name)), name);
    assert.equal(r.body.target.url, "http://127.0.0.1:1/…");
    assert.equal(r.body.payload.nested.level[0].deeper.access_token, "****");
    const list = await t.api("GET", "/api/v1/deliveries?target_type=redaction-probe");
    for (const name of SECRET_NAMES) assert.ok(!JSON.stringify(list.body).includes(secretOf(name)));
  });
});

for (const backend of ALL_BACKENDS) {
  describe(
    `redaction over HTTP: every read of a stored dispatch_config (${backend})`,
    runsOn(backend),
    () => {
      let t: TestApp;
      before(async () => {
        t = await startTestApp({ backend });
      });
      after(() => t.close());

      /** A dispatch_config of an integration's type (its shape is its own) full of secrets. */
      const secretOf = (name: string) => `dispatch-${name}-5a4b3c`;
      const config = () => ({
        type: "chat-integration",
        url: "https://user:pw@hooks.example.com/T000/B000/XXXX?token=abc",
        ...Object.fromEntries(SECRET_NAMES.map((n) => [n, secretOf(n)])),
        nested: { deeper: [{ ...Object.fromEntries(SECRET_NAMES.map((n) => [n, secretOf(n)])) }] },
      });
      const assertHidden = (body: unknown, what: string) => {
        const text = JSON.stringify(body);
        for (const name of SECRET_NAMES)
          assert.ok(!text.includes(secretOf(name)), `${what}: ${name}`);
        for (const leak of ["pw@", "XXXX", "token=abc"])
          assert.ok(!text.includes(leak), `${what}: ${leak}`);
      };

      test("tasks, sessions and jobs: one and many, no secret shown", async () => {
        const sid = await t.session(`redact-${backend}`, { dispatch_config: config() });
        const session = await t.api("GET", `/api/v1/sessions/${sid}`);
        assert.equal(session.status, 200);
        assert.equal(session.body.dispatch_config.nested.deeper[0].access_token, "****");
        assertHidden(session.body, "GET /sessions/{id}");
        assertHidden((await t.api("GET", "/api/v1/sessions?limit=200")).body, "GET /sessions");

        t.llm.enqueue({ text: "done" });
        const m = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
          content: "run",
          run_agent: true,
          dispatch_config: config(),
        });
        assert.equal(m.status, 201, JSON.stringify(m.body));
        const task = await t.api("GET", `/api/v1/tasks/${m.body.task_id}`);
        assert.equal(task.status, 200);
        assert.equal(task.body.dispatch_config.nested.deeper[0].api_key, "****");
        assertHidden(task.body, "GET /tasks/{id}");
        assertHidden((await t.api("GET", `/api/v1/tasks?session_id=${sid}`)).body, "GET /tasks");

        const job = await t.api("POST", "/api/v1/jobs", {
          name: `redact-${backend}`,
          schedule: { cron: "0 9 * * *" },
          target: sid,
          prompt: "tick",
          enabled: false,
          dispatch_config: config(),
        });
        assert.equal(job.status, 201, JSON.stringify(job.body));
        assertHidden(job.body, "POST /jobs");
        const one = await t.api("GET", `/api/v1/jobs/${job.body.id}`);
        assert.equal(one.status, 200);
        assert.equal(one.body.dispatch_config.nested.deeper[0].password, "****");
        assertHidden(one.body, "GET /jobs/{id}");
        assertHidden((await t.api("GET", "/api/v1/jobs")).body, "GET /jobs");
      });
    },
  );
}
