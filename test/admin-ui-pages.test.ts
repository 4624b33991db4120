/**
 * The admin UI's second round of pages in a real browser (Debian's Chromium through
 * playwright-core, only 127.0.0.1): dead deliveries replayed from the Deliveries page and
 * seen delivered live, a bot created and a channel bound through the pages, a webhook
 * registered with a secret that only ever shows as has_secret, the model check on the
 * overview; axe-core on every page.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { chromiumArgs, chromiumPath, withBrowser } from "./support/browser.ts";
import { assertAccessible, nav, signIn } from "./support/browser-page.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";
import { recordModelCheck, waitForDead } from "./support/ui-seed.ts";

const WEBHOOK_SECRET = "pages-secret-never-shown-0123456";

for (const backend of ALL_BACKENDS) {
  describe(`admin UI pages in Chromium (${backend})`, withBrowser(runsOn(backend)), () => {
    let t: TestApp;
    let capture: CaptureServer;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;

    before(async () => {
      capture = await startCaptureServer();
      t = await startTestApp({
        backend,
        tuning: { streamPollMs: 100, pollMs: 50, deliveryScheduleMs: [20, 20] },
      });
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs() });
      context = await browser.newContext();
      page = await context.newPage();
      await signIn(page, t.url, TEST_API_KEY);
    });
    after(async () => {
      await browser?.close();
      await t?.close();
      await capture?.close();
    });

    test("dead deliveries replayed from the Deliveries page are seen delivered live, without reload", async () => {
      let answer = 400;
      capture.setResponder(() => ({ status: answer }));
      const reg = await t.api("POST", "/api/v1/webhooks", {
        url: `${capture.url}/hook`,
        events: ["task.failed"],
      });
      assert.equal(reg.status, 201);
      for (const n of [1, 2, 3]) {
        await t.api("POST", "/api/v1/events", { event: "task.failed", payload: { n } });
      }
      let dead: any[] = [];
      while (dead.length < 3) dead = await waitForDead(t);
      const before = capture.requests.length;
      answer = 200;

      // One from its own page, with the tabs.
      await nav(page).getByRole("link", { name: "Deliveries" }).click();
      await page.getByRole("heading", { level: 1, name: "Deliveries" }).waitFor();
      await page.evaluate(() => {
        (globalThis as any).__noReload = true;
      });
      await page.getByLabel("Status").selectOption("dead");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.getByRole("button", { name: "Replay all dead shown (3)" }).waitFor();
      await assertAccessible(page, "deliveries");
      const one = dead[0].id as string;
      await page.locator(`tr[data-delivery="${one}"] a`).click();
      await page.getByRole("tab", { name: "Payload" }).waitFor();
      await page.getByRole("tab", { name: "Payload" }).focus();
      await page.keyboard.press("End");
      assert.equal(
        await page.getByRole("tab", { name: "Attempts" }).getAttribute("aria-selected"),
        "true",
        "End selects the last tab",
      );
      await page.getByTestId("detail-status").filter({ hasText: "dead" }).waitFor();
      assert.match(await page.getByRole("tabpanel").innerText(), /HTTP 400/);
      // Each attempt, folded: its request headers and the response.
      const attempt = page.locator('details[data-attempt="1"]');
      await attempt.locator("summary").filter({ hasText: "HTTP 400" }).click();
      const headers = attempt.getByRole("table", { name: "Request headers of attempt 1" });
      await headers.getByRole("cell", { name: "webhook-id" }).waitFor();
      await headers.getByRole("cell", { name: one, exact: true }).waitFor();
      await attempt.getByTestId("response-excerpt").waitFor();
      await page.getByRole("tab", { name: "Request" }).click();
      await page
        .getByRole("table", { name: "Request headers of the latest attempt" })
        .getByRole("cell", { name: "content-type" })
        .waitFor();
      await page.getByRole("tab", { name: "Attempts" }).click();
      await assertAccessible(page, "a delivery");
      await page.getByRole("button", { name: "Replay", exact: true }).click();
      await page.getByTestId("detail-status").filter({ hasText: "delivered" }).waitFor();

      // The other two from the list at once.
      await page.getByRole("link", { name: "All deliveries" }).click();
      await page.getByLabel("Status").selectOption("dead");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.getByRole("button", { name: "Replay all dead shown (2)" }).click();
      for (const d of dead.slice(1)) {
        await page
          .locator(`tr[data-delivery="${d.id}"] [data-testid="delivery-status"]`)
          .filter({ hasText: "delivered" })
          .waitFor();
      }
      assert.equal(await page.evaluate(() => (globalThis as any).__noReload), true, "no reload");
      assert.equal(capture.requests.length - before, 3, "each replay sent once");
      for (const d of dead) {
        assert.equal((await t.api("GET", `/api/v1/deliveries/${d.id}`)).body.status, "delivered");
      }
      await t.api("DELETE", `/api/v1/webhooks/${reg.body.webhook.id}`);
    });

    test("a bot created on the Bots page, and a channel bound to it on the Channels page", async () => {
      await nav(page).getByRole("link", { name: "Bots" }).click();
      await page.getByRole("heading", { level: 1, name: "Bots" }).waitFor();
      await page
        .getByRole("cell", { name: /default/ })
        .first()
        .waitFor();
      await assertAccessible(page, "bots");
      await page.getByRole("link", { name: "New bot" }).click();
      await page.getByLabel("Id", { exact: true }).fill("pagebot");
      await page.getByLabel("Name", { exact: true }).fill("Page bot");
      await page.getByLabel("Display name").fill("The page bot");
      await page.getByLabel("Model", { exact: true }).fill("openai-compatible:fake-model");
      await page.getByLabel("Fallback models").fill("ollama:llama3.2\nopenai:gpt-4o-mini");
      await page.getByLabel("System prompt").fill("Be brief.");
      await page.getByRole("checkbox", { name: "search_documents" }).check();
      await page.getByLabel("Tool calls wait for a person").selectOption("always");
      await page.getByLabel("Approval for search_documents").selectOption("never");
      await page.getByLabel("Runtime provider").fill("host");
      await page.getByLabel("Workspace scope").selectOption("channel");
      await page.getByRole("switch", { name: "Network in commands" }).check();
      await page.getByLabel("Command timeout (s)").fill("30");
      await page.getByLabel("Output kept (bytes)").fill("4096");
      await page.getByLabel("Tokens per day", { exact: true }).fill("5000");
      await assertAccessible(page, "new bot form");
      await page.getByRole("button", { name: "Create bot" }).click();
      await page.getByRole("heading", { name: "Bot The page bot" }).waitFor();
      assert.equal(new URL(page.url()).pathname, "/admin/bots/pagebot");
      const bot = (await t.api("GET", "/api/v1/admin/bots/pagebot")).body;
      assert.equal(bot.name, "Page bot");
      assert.deepEqual(bot.tools, ["search_documents"]);
      assert.deepEqual(bot.fallback_models, ["ollama:llama3.2", "openai:gpt-4o-mini"]);
      assert.equal(bot.system_prompt, "Be brief.");
      assert.deepEqual(bot.approval, { default: "always", tools: { search_documents: "never" } });
      assert.deepEqual(bot.runtime, {
        provider: "host",
        scope: "channel",
        network: true,
        timeout_s: 30,
        max_output_bytes: 4096,
      });
      assert.deepEqual(bot.budget, { tokens_per_day: 5000 });
      // Edit: the form shows what is stored, and saves a change.
      assert.equal(await page.getByLabel("Command timeout (s)").inputValue(), "30");
      assert.equal(await page.getByLabel("Tokens per day", { exact: true }).inputValue(), "5000");
      await page.getByLabel("System prompt").fill("Be briefer.");
      await page.getByLabel("Tokens per day", { exact: true }).fill("");
      await page.getByLabel("Tokens per session per day").fill("700");
      await page.getByLabel("Approval for search_documents").selectOption("");
      await page.getByLabel("Tool calls wait for a person").selectOption("never");
      await page.getByRole("button", { name: "Save bot" }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      const edited = (await t.api("GET", "/api/v1/admin/bots/pagebot")).body;
      assert.equal(edited.system_prompt, "Be briefer.");
      assert.deepEqual(edited.budget, { tokens_per_session_per_day: 700 });
      assert.equal(edited.approval, null, "never by default and no own rules: no policy");
      // A value the server refuses is shown, and nothing is saved.
      await page.getByLabel("Runtime provider").fill("no-such-provider");
      await page.getByRole("button", { name: "Save bot" }).click();
      await page.getByRole("alert").filter({ hasText: "unknown provider" }).waitFor();
      assert.equal(
        (await t.api("GET", "/api/v1/admin/bots/pagebot")).body.runtime.provider,
        "host",
      );

      await nav(page).getByRole("link", { name: "Channels" }).click();
      await page.getByRole("heading", { level: 1, name: "Channels" }).waitFor();
      await page.getByLabel("Adapter").fill("chat");
      await page.getByLabel("Channel id").fill("C42");
      await page.getByLabel("Bot", { exact: true }).selectOption("pagebot");
      await page.getByRole("switch", { name: "Passive memory" }).check();
      await page.getByRole("button", { name: "Bind channel" }).click();
      await page.getByRole("status").filter({ hasText: "Channel bound." }).waitFor();
      await page.getByLabel("Mention needed in channel C42").selectOption("true");
      await page.getByRole("status").filter({ hasText: "Channel C42 saved." }).waitFor();
      await assertAccessible(page, "channels");
      const [ch] = (await t.api("GET", "/api/v1/admin/channels?integration=chat")).body;
      assert.equal(ch.channel, "C42");
      assert.equal(ch.bot_id, "pagebot");
      assert.equal(ch.passive_memory, true);
      assert.equal(ch.require_mention, true);
    });

    test("a webhook registered with a secret shows has_secret, never the secret; the secret can be removed", async () => {
      await nav(page).getByRole("link", { name: "Webhooks" }).click();
      await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
      await page.getByLabel("URL").fill(`${capture.url}/signed`);
      await page.getByRole("checkbox", { name: "task.completed" }).check();
      await page.getByLabel("Secret (optional)").fill(WEBHOOK_SECRET);
      await page.getByRole("button", { name: "Register webhook" }).click();
      await page.getByRole("status").filter({ hasText: "Webhook registered." }).waitFor();
      const row = page.locator(`tr[data-webhook="${capture.url}/signed"]`);
      await row.getByTestId("has-secret").filter({ hasText: "set (never shown)" }).waitFor();
      assert.equal(
        await page.getByLabel("Secret (optional)").inputValue(),
        "",
        "the field is emptied",
      );
      assert.ok(!(await page.content()).includes(WEBHOOK_SECRET), "the secret is not in the page");
      const [w] = (await t.api("GET", "/api/v1/webhooks")).body;
      assert.equal(w.has_secret, true);
      assert.deepEqual(w.events, ["task.completed"]);
      await assertAccessible(page, "webhooks");
      await row.getByRole("button", { name: "Remove secret" }).click();
      await row.getByTestId("has-secret").filter({ hasText: "none" }).waitFor();
      assert.equal((await t.api("GET", "/api/v1/webhooks")).body[0].has_secret, false);
    });

    test("notifications, documents and skills, and the overview's model check, each accessible", async () => {
      await t.api("POST", "/api/v1/notifications", {
        channel: "webhook",
        message: "page test notification",
        webhook_url: `${capture.url}/notify`,
      });
      await t.api("POST", "/api/v1/documents", {
        title: "Runbook",
        content: "Rotate the signing secret every quarter.",
      });
      await nav(page).getByRole("link", { name: "Notifications" }).click();
      await page.getByText("page test notification").waitFor();
      await assertAccessible(page, "notifications");
      await nav(page).getByRole("link", { name: "Documents and skills" }).click();
      await page.getByLabel("Search", { exact: true }).fill("signing");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.getByText("Runbook").waitFor();
      await assertAccessible(page, "documents and skills");

      const sid = await t.session(`overview-${backend}`);
      const turn = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: "count me",
        run_agent: true,
      });
      await t.waitForTask(turn.body.task_id);
      await nav(page).getByRole("link", { name: "Overview" }).click();
      await page.getByText("Not checked on this instance").waitFor();
      const card = (title: string) =>
        page.locator(".card").filter({ has: page.getByRole("heading", { name: title }) });
      // This server's own heartbeat row, in the card and the table it links to.
      await card("Instances").locator(".num").filter({ hasText: /^1$/ }).waitFor();
      await page.getByRole("table", { name: "Live instances" }).getByRole("row").nth(1).waitFor();
      await card("Turns per minute")
        .locator(".num")
        .filter({ hasText: /^[1-9]/ })
        .waitFor();
      await card("Pending approvals").locator(".num").filter({ hasText: /^0$/ }).waitFor();
      assert.equal(
        await card("Pending approvals").getByRole("link").getAttribute("href"),
        "/admin/approvals",
      );
      await card("Instances").getByRole("link", { name: "Instances" }).click();
      assert.equal(new URL(page.url()).hash, "#instances-h", "the card links to the table");
      await recordModelCheck(t);
      await page.reload();
      await page.getByTestId("model-ok").filter({ hasText: "yes" }).first().waitFor();
      assert.ok(await page.getByRole("cell", { name: "openai-compatible:fake-model" }).isVisible());
      await assertAccessible(page, "overview with models");
    });
  });
}
