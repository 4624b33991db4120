/**
 * The admin UI in a real browser (Debian's Chromium through playwright-core, talking only
 * to 127.0.0.1): sign in, an integration's generated settings form and dashboard module,
 * a message sent from the Sessions page answered live, a key revoked from the API keys
 * page, cross-site writes with the cookie refused; axe-core on every page visited.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { chromiumArgs, chromiumPath, withBrowser } from "./support/browser.ts";
import { assertAccessible, nav, signIn } from "./support/browser-page.ts";
import { ALL_BACKENDS, runsOn, tempDir } from "./support/db.ts";
import { writeUiTestIntegration } from "./support/ui-seed.ts";

const SECRET = "uitest-secret-value-0123456789";

for (const backend of ALL_BACKENDS) {
  describe(`admin UI in Chromium (${backend})`, withBrowser(runsOn(backend)), () => {
    let t: TestApp;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    const dirs = tempDir();

    before(async () => {
      writeUiTestIntegration(dirs.path);
      // A supervised process for the integration page: a line every 200 ms, with its pid.
      writeFileSync(
        join(dirs.path, "uitest", "process.ts"),
        `export default {
  description: "UI test process",
  command: [process.execPath, "-e", "let n = 0; setInterval(() => console.log('uitest line ' + ++n + ' pid ' + process.pid), 200); process.on('SIGTERM', () => process.exit(0));"],
};\n`,
      );
      t = await startTestApp({
        backend,
        env: { INTEGRATION_DIRS: dirs.path },
        tuning: { streamPollMs: 100 },
      });
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs() });
      context = await browser.newContext();
      page = await context.newPage();
    });
    after(async () => {
      await browser?.close();
      await t?.close();
      dirs.remove();
    });

    test("sign in: a wrong key shows an error, the right one opens the overview", async () => {
      await page.goto(`${t.url}/`);
      assert.equal(new URL(page.url()).pathname, "/admin", "/ redirects to /admin");
      await assertAccessible(page, "sign-in page");
      await page.getByLabel("API key").fill("not-a-key");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor();
      await page.getByLabel("API key").fill(TEST_API_KEY);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByText("Signed in with").waitFor();
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      const cookies = await context.cookies();
      const c = cookies.find((x) => x.name === "switchyard_session");
      assert.ok(c, "the session cookie is set");
      assert.equal(c.httpOnly, true);
      assert.equal(c.sameSite, "Strict");
      assert.ok(!c.value.includes(TEST_API_KEY), "the cookie is not the key");
      await page.getByRole("link", { name: "UI test" }).waitFor(); // the sidebar section
      await assertAccessible(page, "overview");
    });

    test("an integration's secret set through the generated form: masked, status ready; its dashboard module rendered", async () => {
      await nav(page).getByRole("link", { name: "Integrations", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "Integrations" }).waitFor();
      await assertAccessible(page, "integrations");
      await page.getByRole("link", { name: "UI test" }).first().click();
      await page.getByTestId("integration-status").filter({ hasText: "not_configured" }).waitFor();
      assert.ok(await page.getByText(`${t.url}/integrations/uitest/webhook`).isVisible());
      // The dashboard module: the JSON the router serves, as a table.
      await page.getByRole("cell", { name: "beta-row" }).waitFor();
      await page.getByLabel(/UITEST_TOKEN/).fill(SECRET);
      await page.getByRole("button", { name: "Save settings" }).click();
      await page.getByTestId("state-UITEST_TOKEN").filter({ hasText: "set (****" }).waitFor();
      await page.getByTestId("integration-status").filter({ hasText: "ready" }).waitFor();
      assert.equal(await page.getByLabel(/UITEST_TOKEN/).inputValue(), "", "the field is emptied");
      assert.ok(!(await page.content()).includes(SECRET), "the secret is never in the page");
      assert.match(await page.getByTestId("state-UITEST_MODE").innerText(), /default calm/);
      await assertAccessible(page, "integration page");
    });

    test("an integration's process: its recent output shown, and restarted from the page", async () => {
      await nav(page).getByRole("link", { name: "Integrations", exact: true }).click();
      await page.getByRole("link", { name: "UI test" }).first().click();
      await page.getByRole("heading", { name: "Recent output" }).waitFor();
      const first = (await t.api("GET", "/api/v1/admin/integrations/uitest/process")).body;
      assert.equal(first.state, "running");
      const output = page.getByTestId("process-output");
      for (let i = 0; i < 50 && !(await output.isVisible()); i++) {
        await page.getByRole("button", { name: "Refresh output" }).click();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(await output.innerText(), new RegExp(`uitest line \\d+ pid ${first.pid}`));
      await assertAccessible(page, "integration page with process output");
      await page.getByRole("button", { name: "Restart", exact: true }).click();
      let now = first;
      for (let i = 0; i < 100 && (now.pid === first.pid || now.state !== "running"); i++) {
        await new Promise((r) => setTimeout(r, 50));
        now = (await t.api("GET", "/api/v1/admin/integrations/uitest/process")).body;
      }
      assert.notEqual(now.pid, first.pid, "a new process");
      // The new process's lines arrive in the same output.
      for (let i = 0; i < 50 && !(await output.innerText()).includes(`pid ${now.pid}`); i++) {
        await page.getByRole("button", { name: "Refresh output" }).click();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(await output.innerText(), new RegExp(`pid ${now.pid}`));
      const lines = (await t.api("GET", "/api/v1/admin/integrations/uitest/process/output")).body;
      assert.ok(lines.length > 0 && lines.length <= 200);
      assert.equal(lines[0].stream, "stdout");
      assert.equal(
        (await t.api("GET", "/api/v1/admin/integrations/nope/process/output")).status,
        404,
      );
    });

    test("a message sent on the Sessions page: the task completes and the reply arrives live, without reload", async () => {
      const sessionId = await t.session("ui-live");
      await nav(page).getByRole("link", { name: "Sessions", exact: true }).click();
      await page.getByRole("link", { name: "ui-live" }).click();
      await page.getByRole("heading", { name: "Send a message" }).waitFor();
      await page.evaluate(() => {
        (globalThis as any).__noReload = true;
      });
      await page.getByRole("textbox", { name: "Message" }).fill("hello from the page");
      await page.getByRole("button", { name: "Send and run the agent" }).click();
      await page.getByText("echo: hello from the page").waitFor({ timeout: 15_000 });
      await page.getByTestId("task-status").filter({ hasText: "complete" }).first().waitFor();
      assert.equal(await page.evaluate(() => (globalThis as any).__noReload), true, "no reload");
      const tasks = (await t.api("GET", `/api/v1/tasks?session_id=${sessionId}`)).body.items;
      assert.equal(tasks[0].status, "complete");
      await assertAccessible(page, "session page");

      // A file sent with a message: listed under it (name, type, size), downloadable through
      // the scope-checked route with the page's cookie.
      const notes = "release notes: the UI shows files\n";
      await page.getByRole("textbox", { name: "Message" }).fill("see the file");
      await page.getByLabel("Files (optional)").setInputFiles({
        name: "notes.txt",
        mimeType: "text/plain",
        buffer: Buffer.from(notes),
      });
      await page.getByRole("button", { name: "Send and run the agent" }).click();
      const file = page.getByRole("list", { name: "Attachments" }).getByRole("link", {
        name: "notes.txt",
      });
      await file.waitFor({ timeout: 15_000 });
      assert.match(
        await page.locator("[data-attachment]").innerText(),
        new RegExp(`text/plain, ${Buffer.byteLength(notes)} bytes`),
      );
      const href = (await file.getAttribute("href"))!;
      assert.match(href, new RegExp(`session_id=${sessionId}`));
      const got = await page.request.get(`${t.url}${href}`);
      assert.equal(got.status(), 200);
      assert.equal(await got.text(), notes);
      await assertAccessible(page, "session page with a file");

      await nav(page).getByRole("link", { name: "Sessions", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "Sessions" }).waitFor();
      await assertAccessible(page, "sessions");
      await nav(page).getByRole("link", { name: "Tasks", exact: true }).click();
      await page.getByRole("cell", { name: "complete" }).first().waitFor();
      await assertAccessible(page, "tasks");
    });

    test("a key revoked on the API keys page is refused at its next request, and its UI session dies", async () => {
      const created = await t.api("POST", "/api/v1/admin/keys", {
        name: "doomed",
        scopes: ["sessions:read"],
      });
      assert.equal(created.status, 201);
      const doomed = created.body.key as string;
      assert.equal(
        (await t.api("GET", "/api/v1/sessions", undefined, { key: doomed })).status,
        200,
      );
      // A second browser signed in with that key, seeing only what its scope allows.
      const other = await browser.newContext();
      const otherPage = await other.newPage();
      await signIn(otherPage, t.url, doomed);
      await otherPage.getByText("needs admin").first().waitFor();

      await nav(page).getByRole("link", { name: "API keys" }).click();
      await page.getByRole("cell", { name: "doomed", exact: true }).waitFor();
      await assertAccessible(page, "API keys");
      page.once("dialog", (d) => d.accept());
      await page.getByRole("button", { name: "Revoke doomed" }).click();
      await page.getByRole("cell", { name: "doomed", exact: true }).waitFor({ state: "detached" });

      assert.equal(
        (await t.api("GET", "/api/v1/sessions", undefined, { key: doomed })).status,
        401,
      );
      const me: number = await otherPage.evaluate(
        async () => (await fetch("/api/v1/auth/session")).status,
      );
      assert.equal(me, 401, "the session opened with the key ended with it");
      await other.close();
    });

    test("a write with the cookie from another origin is refused; from the UI's own origin it passes", async () => {
      const cookie = (await context.cookies()).find((c) => c.name === "switchyard_session")!;
      const header = `switchyard_session=${cookie.value}`;
      const post = (origin?: string) =>
        fetch(`${t.url}/api/v1/sessions`, {
          method: "POST",
          headers: {
            cookie: header,
            "content-type": "application/json",
            ...(origin ? { origin } : {}),
          },
          body: JSON.stringify({ client_id: "csrf-raw" }),
        });
      const foreign = await post("http://127.0.0.1:1");
      assert.equal(foreign.status, 403);
      assert.match(
        ((await foreign.json()) as { detail: string }).detail,
        /Cross-site request refused/,
      );
      assert.equal((await post()).status, 403, "no Origin, no Sec-Fetch-Site: refused");
      assert.equal((await post(t.url)).status, 201, "the server's own origin passes");

      // A page on a second 127.0.0.1 origin (same site, so the Strict cookie IS sent).
      const evil: Server = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<!doctype html><title>other</title>");
      });
      await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
      try {
        const port = (evil.address() as { port: number }).port;
        const evilPage = await context.newPage();
        await evilPage.goto(`http://127.0.0.1:${port}/`);
        await evilPage.evaluate(async (target) => {
          // A "simple" request (no preflight), as a forging page would send it.
          await fetch(`${target}/api/v1/sessions`, {
            method: "POST",
            mode: "no-cors",
            credentials: "include",
            headers: { "content-type": "text/plain" },
            body: JSON.stringify({ client_id: "csrf-page" }),
          });
        }, t.url);
        await evilPage.close();
        // The fetch resolved: the server answered. Nothing was created.
        const list = (await t.api("GET", "/api/v1/sessions?client_id=csrf-")).body.items;
        assert.deepEqual(
          list.map((s: { client_id: string }) => s.client_id),
          ["csrf-raw"],
        );
      } finally {
        await new Promise((r) => evil.close(r));
      }
    });
  });
}
