/**
 * The admin UI's Jobs page (issue 15) in a real browser (Debian's Chromium through
 * playwright-core, only 127.0.0.1): a job created through the form after previewing its
 * next runs; an invalid cron expression and time zone shown on their fields; run now, the
 * run seen complete live (the fake LLM echoes); disable and delete; a key with only
 * jobs:read sees the writes greyed out with the scope (at 375 px, dark), a key without
 * jobs:read the page greyed out in the navigation; axe-core on each state.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { chromiumArgs, chromiumPath, withBrowser } from "./support/browser.ts";
import { assertAccessible, nav, signIn } from "./support/browser-page.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(`admin UI Jobs page in Chromium (${backend})`, withBrowser(runsOn(backend)), () => {
    let t: TestApp;
    let browser: Browser;
    let page: Page;

    before(async () => {
      t = await startTestApp({ backend, tuning: { streamPollMs: 100, pollMs: 50 } });
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs() });
      page = await (await browser.newContext()).newPage();
      await signIn(page, t.url, TEST_API_KEY);
    });
    after(async () => {
      await browser?.close();
      await t?.close();
    });

    test("create a job through the form: invalid cron and time zone shown on their fields, the preview, then its next runs", async () => {
      await nav(page).getByRole("link", { name: "Jobs" }).click();
      await page.getByRole("heading", { level: 1, name: "Jobs" }).waitFor();
      await page.getByText("No jobs yet.").waitFor();
      await page.getByLabel("Name", { exact: true }).fill("ui job");
      const cron = page.getByLabel("Cron expression");
      await cron.fill("61 * * * *");
      await page.getByRole("button", { name: "Preview next runs" }).click();
      const cronError = page.locator("#job-cron-error");
      await cronError.waitFor();
      assert.match(await cronError.innerText(), /61|minute|range|illegal|invalid/i);
      assert.equal(await cron.getAttribute("aria-invalid"), "true");
      assert.match((await cron.getAttribute("aria-describedby")) ?? "", /job-cron-error/);
      await assertAccessible(page, "jobs form with a field error");

      // The error goes as soon as the field changes; a bad time zone is shown on its field
      // when saving too.
      await cron.fill("0 9 * * 1-5");
      await cronError.waitFor({ state: "detached" });
      await page.getByLabel("Time zone").fill("Mars/Olympus");
      await page.getByLabel("Client id", { exact: true }).fill("ui:jobs");
      await page.getByLabel("Prompt", { exact: true }).fill("hello from a job");
      await page.getByRole("button", { name: "Create job" }).click();
      await page.locator("#job-tz-error").filter({ hasText: "unknown time zone" }).waitFor();
      assert.equal((await t.api("GET", "/api/v1/jobs")).body.items.length, 0, "nothing saved");

      await page.getByLabel("Time zone").fill("Europe/Paris");
      await page.getByRole("button", { name: "Preview next runs" }).click();
      const preview = page.locator("#job-preview li");
      await preview.first().waitFor();
      assert.equal(await preview.count(), 5);
      const shown = await page
        .locator("#job-preview time")
        .evaluateAll((ts) => ts.map((x) => x.getAttribute("datetime")));
      const api = await t.api("POST", "/api/v1/jobs/preview", {
        schedule: { cron: "0 9 * * 1-5", tz: "Europe/Paris" },
      });
      assert.deepEqual(shown, api.body.next_runs);
      await assertAccessible(page, "jobs form with a preview");

      await page.getByRole("button", { name: "Create job" }).click();
      await page.getByRole("status").filter({ hasText: "Job created." }).waitFor();
      await page.getByRole("heading", { level: 1, name: "Job ui job" }).waitFor();
      const [job] = (await t.api("GET", "/api/v1/jobs")).body.items;
      assert.equal(new URL(page.url()).pathname, `/admin/jobs/${job.id}`);
      assert.deepEqual(job.schedule, { cron: "0 9 * * 1-5", tz: "Europe/Paris" });
      assert.deepEqual(job.target, { bot_id: "default", client_id: "ui:jobs" });
      assert.equal(job.prompt, "hello from a job");
      const next = await page
        .locator("#job-next time")
        .evaluateAll((ts) => ts.map((x) => x.getAttribute("datetime")));
      assert.deepEqual(next, (await t.api("GET", `/api/v1/jobs/${job.id}`)).body.next_runs);
      assert.equal(next.length, 5);
      await assertAccessible(page, "a job");

      await page.getByRole("link", { name: "All jobs" }).click();
      const row = page.locator('tr[data-job="ui job"]');
      await row.waitFor();
      assert.match(await row.innerText(), /cron 0 9 \* \* 1-5 \(Europe\/Paris\)/);
      assert.match(await row.innerText(), /ui:jobs/);
      await assertAccessible(page, "jobs list");
    });

    test("run now: the run is seen complete live; disable; delete after confirming", async () => {
      await nav(page).getByRole("link", { name: "Jobs" }).click();
      await page.getByRole("link", { name: "ui job" }).click();
      await page.getByRole("heading", { level: 1, name: "Job ui job" }).waitFor();
      await page.getByText("No runs yet.").waitFor();
      await page.evaluate(() => {
        (globalThis as any).__noReload = true;
      });
      await page.getByRole("button", { name: "Run now" }).click();
      const status = page.locator("tr[data-run] [data-testid=run-status]");
      await status.filter({ hasText: "complete" }).waitFor();
      assert.equal(await page.evaluate(() => (globalThis as any).__noReload), true, "no reload");
      const [job] = (await t.api("GET", "/api/v1/jobs")).body.items;
      const [run] = (await t.api("GET", `/api/v1/jobs/${job.id}/runs`)).body.items;
      assert.equal(run.status, "complete");
      assert.equal(run.manual, true);
      assert.equal((await t.waitForTask(run.task_id)).result, "echo: hello from a job");
      assert.ok(await page.getByRole("link", { name: `Task ${run.task_id}` }).isVisible());
      await assertAccessible(page, "a job with a run");

      await page.getByRole("button", { name: "Disable" }).click();
      await page.getByTestId("job-enabled").filter({ hasText: "no" }).waitFor();
      assert.equal((await t.api("GET", `/api/v1/jobs/${job.id}`)).body.enabled, false);
      assert.equal(
        await page.locator("#job-next li").count(),
        0,
        "a disabled job has no next runs",
      );

      // Dismissing the confirmation keeps it; accepting deletes it.
      page.once("dialog", (d) => d.dismiss());
      await page.getByRole("button", { name: "Delete job" }).click();
      assert.equal((await t.api("GET", `/api/v1/jobs/${job.id}`)).status, 200);
      page.once("dialog", (d) => d.accept());
      await page.getByRole("button", { name: "Delete job" }).click();
      await page.getByRole("heading", { level: 1, name: "Jobs" }).waitFor();
      await page.getByText("No jobs yet.").waitFor();
      assert.equal((await t.api("GET", `/api/v1/jobs/${job.id}`)).status, 404);
    });

    test("without jobs:write the writes are greyed out with the scope (375 px, dark); without jobs:read the page is", async () => {
      const made = await t.api("POST", "/api/v1/jobs", {
        name: "read only",
        schedule: { every_seconds: 3600 },
        target: { bot_id: "default", client_id: "ui:ro" },
        prompt: "x",
      });
      assert.equal(made.status, 201);
      const { key: reader } = await t.app.store.apiKeys.create("jobs-reader", ["jobs:read"]);
      const ctx = await browser.newContext({
        viewport: { width: 375, height: 740 },
        colorScheme: "dark",
      });
      try {
        const p = await ctx.newPage();
        await signIn(p, t.url, reader);
        await nav(p).getByRole("link", { name: "Jobs" }).click();
        await p.locator('tr[data-job="read only"]').waitFor();
        assert.ok(await p.getByText("Creating a job needs the jobs:write scope").isVisible());
        assert.equal(await p.getByRole("button", { name: "Create job" }).isDisabled(), true);
        // Previewing only reads: allowed.
        await p.getByRole("radio", { name: "Every N seconds" }).check();
        await p.getByRole("button", { name: "Preview next runs" }).click();
        await p.locator("#job-preview li").first().waitFor();
        assert.equal(
          await p.evaluate(() => {
            const d = (globalThis as any).document.documentElement;
            return d.scrollWidth <= d.clientWidth;
          }),
          true,
          "no sideways scrolling at 375 px",
        );
        await assertAccessible(p, "jobs list, read-only, 375 px dark");
        await p.getByRole("link", { name: "read only" }).click();
        await p
          .getByText("Run now, enable/disable and delete need the jobs:write scope.")
          .waitFor();
        for (const name of ["Run now", "Disable", "Delete job"]) {
          assert.equal(await p.getByRole("button", { name }).isDisabled(), true, name);
        }
        await assertAccessible(p, "a job, read-only, 375 px dark");

        const { key: none } = await t.app.store.apiKeys.create("no-jobs", ["tasks:read"]);
        // The same browser context holds the reader's session cookie: sign out first.
        await p.getByRole("button", { name: "Sign out" }).click();
        const q = p;
        await signIn(q, t.url, none);
        await nav(q).getByText("Jobs (needs jobs:read)").waitFor();
        assert.equal(await nav(q).getByRole("link", { name: "Jobs" }).count(), 0);
        await q.goto(`${t.url}/admin/jobs`);
        await q.getByText("This page needs the jobs:read scope").waitFor();
      } finally {
        await ctx.close();
        await t.api("DELETE", `/api/v1/jobs/${made.body.id}`);
      }
    });
  });
}
