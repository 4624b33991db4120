/**
 * Data for the admin UI's browser tests and `npm run screenshots`: an integration folder
 * with settings, a router and a dashboard module, and a few of everything the pages show.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkBotModels } from "../../src/agent/bot-models.ts";
import type { TestApp } from "./app.ts";
import type { CaptureServer } from "./capture-server.ts";

/** An integration folder with a required secret, a router serving JSON and a dashboard module. */
export function writeUiTestIntegration(root: string): void {
  const dir = join(root, "uitest");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "setup.ts"),
    `export default {
  env_vars: [
    { key: "UITEST_TOKEN", required: true, secret: true, description: "The token the outside service gives" },
    { key: "UITEST_MODE", default: "calm", description: "How it behaves" },
  ],
  webhook: { path: "/integrations/uitest/webhook", description: "POST here" },
  sidebar_section: { title: "UI test", icon: "flask" },
  dashboard_modules: [{ id: "stats", title: "UI test stats", source: "/integrations/uitest/stats" }],
};\n`,
  );
  writeFileSync(
    join(dir, "router.ts"),
    `export default async (app) => {
  app.get("/stats", { config: { auth: "admin" } }, async () => [
    { name: "alpha-row", count: 3 },
    { name: "beta-row", count: 5 },
  ]);
  app.post("/webhook", { config: { auth: "self" } }, async () => ({ ok: true }));
};\n`,
  );
}

/** Records the start-up model check as `switchyard serve` does (the fake LLM answers it). */
export async function recordModelCheck(t: TestApp): Promise<void> {
  const bots = await t.app.store.bots.list();
  t.app.modelCheck.record(await checkBotModels(t.app.models, bots, 1500));
}

/**
 * Waits until at least one delivery is dead (start the app with a short
 * `deliveryScheduleMs`, or a 400 is retried for hours).
 * @throws Error after `timeoutMs`
 */
export async function waitForDead(t: TestApp, timeoutMs = 10_000): Promise<any[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const list = (await t.api("GET", "/api/v1/deliveries?status=dead")).body;
    if (list.length > 0) return list;
    if (Date.now() > end) throw new Error("no delivery died in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Seeds what the pages show: a finished conversation, a second bot with a fallback and a
 * channel, a webhook (with a secret) whose receiver `capture` answers 400 so its delivery
 * dies (give the app a short `deliveryScheduleMs`), one delivered, a notification, a document, and the model check.
 */
export async function seedUiData(t: TestApp, capture: CaptureServer): Promise<void> {
  const must = async (method: string, path: string, body?: unknown) => {
    const r = await t.api(method, path, body);
    if (r.status >= 300)
      throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await recordModelCheck(t);
  const sessionId = await t.session("demo-chat");
  const run = await must("POST", `/api/v1/sessions/${sessionId}/messages`, {
    content: "What changed in the release?",
    run_agent: true,
  });
  if (run.task_id) await t.waitForTask(run.task_id);
  await must("POST", "/api/v1/admin/bots", {
    id: "support",
    name: "Support",
    display_name: "Support desk",
    model: "openai-compatible:fake-model",
    fallback_models: ["ollama:llama3.2"],
    system_prompt: "You answer support questions briefly.",
    tools: ["search_documents"],
  });
  await must("POST", "/api/v1/admin/channels", {
    integration: "chat",
    team: "T1",
    channel: "C-support",
    bot_id: "support",
    passive_memory: true,
  });
  capture.setResponder((req) => (req.path.startsWith("/dead") ? { status: 400 } : undefined));
  await must("POST", "/api/v1/webhooks", {
    url: `${capture.url}/dead`,
    events: ["task.failed"],
    secret: "seed-secret-never-shown-0123",
  });
  await must("POST", "/api/v1/webhooks", { url: `${capture.url}/ok`, events: ["task.completed"] });
  await must("POST", "/api/v1/events", { event: "task.failed", payload: { task_id: "t-demo" } });
  await must("POST", "/api/v1/events", { event: "task.completed", payload: { task_id: "t-ok" } });
  await waitForDead(t);
  await must("POST", "/api/v1/notifications", {
    channel: "webhook",
    message: "Nightly import finished: 42 documents.",
    webhook_url: `${capture.url}/notify`,
  });
  await must("POST", "/api/v1/documents", {
    title: "Release notes 0.1",
    content: "The release adds the admin UI: bots, channels, deliveries and webhooks pages.",
  });
}
