/**
 * `npm run screenshots`: a PNG of every admin UI page, light and dark, into
 * docs/screenshots/<page>-<scheme>.png (viewport 1280×800, not full-page, to keep the files
 * small). It starts its own server on 127.0.0.1 (temp data dir, SQLite, the fake LLM from
 * test/support), seeds a little of everything, and drives Debian's Chromium through
 * playwright-core (`SWITCHYARD_TEST_CHROMIUM` to point elsewhere). Nothing leaves 127.0.0.1.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { startTestApp, TEST_API_KEY } from "../test/support/app.ts";
import { chromiumArgs, chromiumPath } from "../test/support/browser.ts";
import { startCaptureServer } from "../test/support/capture-server.ts";
import { tempDir } from "../test/support/db.ts";
import { seedUiData, writeUiTestIntegration } from "../test/support/ui-seed.ts";

const OUT = join(import.meta.dirname, "..", "docs", "screenshots");

/** Page name → how to get there once signed in (a path) and what shows it is ready. */
const PAGES: Array<{
  name: string;
  path: string | ((url: string, page: Page) => Promise<string>);
  ready: string;
}> = [
  { name: "overview", path: "/admin", ready: "Model endpoints" },
  { name: "integrations", path: "/admin/integrations", ready: "Integrations" },
  { name: "integration", path: "/admin/integrations/uitest", ready: "Settings" },
  { name: "sessions", path: "/admin/sessions", ready: "Sessions" },
  { name: "tasks", path: "/admin/tasks", ready: "Tasks" },
  { name: "bots", path: "/admin/bots", ready: "Bots" },
  { name: "bot", path: "/admin/bots/support", ready: "Bot Support desk" },
  { name: "channels", path: "/admin/channels", ready: "Channels" },
  { name: "jobs", path: "/admin/jobs", ready: "morning report" },
  { name: "deliveries", path: "/admin/deliveries", ready: "Deliveries" },
  { name: "webhooks", path: "/admin/webhooks", ready: "Webhooks" },
  { name: "notifications", path: "/admin/notifications", ready: "Notifications" },
  { name: "knowledge", path: "/admin/knowledge", ready: "Documents and skills" },
  { name: "keys", path: "/admin/keys", ready: "API keys" },
];

/** A job on a cron schedule with one run (run now) that completed, for the Jobs pages. */
async function seedJob(t: Awaited<ReturnType<typeof startTestApp>>) {
  const job = (
    await t.api("POST", "/api/v1/jobs", {
      name: "morning report",
      schedule: { cron: "0 9 * * 1-5", tz: "Europe/Paris" },
      target: { bot_id: "default", client_id: "reports:morning" },
      prompt: "Write the morning report.",
    })
  ).body;
  const run = (await t.api("POST", `/api/v1/jobs/${job.id}/run`)).body;
  await t.waitForTask(run.task_id);
  return job;
}

async function main(): Promise<void> {
  if (!chromiumPath)
    throw new Error("no Chromium: install Debian's chromium or set SWITCHYARD_TEST_CHROMIUM");
  mkdirSync(OUT, { recursive: true });
  const dirs = tempDir("switchyard-shots-");
  writeUiTestIntegration(dirs.path);
  const capture = await startCaptureServer();
  const t = await startTestApp({
    env: { INTEGRATION_DIRS: dirs.path },
    tuning: { streamPollMs: 200, pollMs: 50, deliveryScheduleMs: [20, 20] },
  });
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs() });
  try {
    await seedUiData(t, capture);
    const sessionId = (await t.api("GET", "/api/v1/sessions?client_id=demo-chat")).body.items[0].id;
    const dead = (await t.api("GET", "/api/v1/deliveries?status=dead")).body[0];
    const job = await seedJob(t);
    const pages = [
      ...PAGES,
      { name: "session", path: `/admin/sessions/${sessionId}`, ready: "Send a message" },
      { name: "job", path: `/admin/jobs/${job.id}`, ready: "complete" },
      ...(dead
        ? [{ name: "delivery", path: `/admin/deliveries/${dead.id}`, ready: "Payload" }]
        : []),
    ];
    for (const colorScheme of ["light", "dark"] as const) {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        colorScheme,
      });
      const page = await context.newPage();
      await page.goto(`${t.url}/admin`);
      await page.getByLabel("API key").waitFor();
      await page.screenshot({ path: join(OUT, `signin-${colorScheme}.png`) });
      await page.getByLabel("API key").fill(TEST_API_KEY);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("button", { name: "Sign out" }).waitFor();
      for (const p of pages) {
        await page.goto(`${t.url}${p.path}`);
        await page.getByText(p.ready, { exact: false }).first().waitFor();
        // The live stream keeps the network busy: wait for the loading notes to go instead.
        await page
          .waitForFunction(
            () => !(globalThis as any).document.body.innerText.includes("Loading…"),
            null,
            { timeout: 5000 },
          )
          .catch(() => {});
        await page.screenshot({ path: join(OUT, `${p.name}-${colorScheme}.png`) });
        process.stdout.write(`docs/screenshots/${p.name}-${colorScheme}.png\n`);
      }
      await context.close();
    }
  } finally {
    await browser.close();
    await t.close();
    await capture.close();
    dirs.remove();
  }
}

await main();
