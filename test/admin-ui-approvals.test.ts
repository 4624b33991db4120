/**
 * The admin UI's Approvals page in a real browser (Debian's Chromium through
 * playwright-core, only 127.0.0.1): a waiting tool call appears live, is approved with the
 * button (the tool runs, the turn completes), another is denied with a reason, and both
 * show in the decided history; a key without approvals:write sees the buttons greyed out;
 * axe-core on the page.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { startTestApp, TEST_API_KEY, type TestApp } from "./support/app.ts";
import { chromiumArgs, chromiumPath, withBrowser } from "./support/browser.ts";
import { assertAccessible, nav, signIn } from "./support/browser-page.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

for (const backend of ALL_BACKENDS) {
  describe(`admin UI Approvals page (${backend})`, withBrowser(runsOn(backend)), () => {
    let t: TestApp;
    let browser: Browser;
    let page: Page;
    const runs: unknown[] = [];

    before(async () => {
      t = await startTestApp({ backend, tuning: { streamPollMs: 100, pollMs: 50 } });
      t.app.tools.register({
        name: "refund",
        description: "Refunds an order",
        parameters: { type: "object", properties: { order: { type: "string" } } },
        execute: async (a: unknown) => {
          runs.push(a);
          return "refunded";
        },
      });
      await t.api("PUT", "/api/v1/admin/bots/default", {
        tools: ["refund"],
        approval: { default: "never", tools: { refund: "always" } },
      });
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs() });
      page = await (await browser.newContext()).newPage();
      await signIn(page, t.url, TEST_API_KEY);
    });
    after(async () => {
      await browser?.close();
      await t?.close();
    });

    /** Starts a turn that asks to refund `order`; the model's answer after the decision is `reply`. */
    const replies = new Map<string, string>();
    const ask = async (order: string, reply: string) => {
      replies.set(order, reply);
      t.llm.setResponder((req) => {
        const text = JSON.stringify(req.messages);
        const o = [...replies.keys()].find((k) => text.includes(`refund ${k}`)) ?? "?";
        return req.messages.at(-1)?.role === "tool"
          ? { text: replies.get(o) ?? "?" }
          : { toolCalls: [{ name: "refund", args: { order: o } }] };
      });
      const sid = await t.session(`ui-${order}-${backend}`);
      const r = await t.api("POST", `/api/v1/sessions/${sid}/messages`, {
        content: `refund ${order}`,
        run_agent: true,
      });
      return r.body.task_id as string;
    };

    test("waiting calls appear live; approve and deny from the page; the history shows both", async () => {
      await nav(page).getByRole("link", { name: "Approvals" }).click();
      await page.getByRole("heading", { level: 1, name: "Approvals" }).waitFor();
      await page.getByText("Nothing is waiting.").waitFor();
      const first = await ask("A-1", "Refunded A-1.");
      const second = await ask("B-2", "No refund for B-2.");
      await page
        .getByRole("button", { name: /^Approve refund / })
        .nth(1)
        .waitFor();
      await assertAccessible(page, "approvals");
      const rowOf = async (order: string) => {
        const [a] = (await t.api("GET", `/api/v1/approvals?status=pending`)).body.filter(
          (x: any) => x.args.order === order,
        );
        return page.locator(`tr[data-approval="${a.id}"]`);
      };
      const a1 = await rowOf("A-1");
      await a1.getByRole("button", { name: /^Approve/ }).click();
      await page.getByRole("status").filter({ hasText: "refund: approved." }).waitFor();
      assert.equal((await t.waitForTask(first)).result, "Refunded A-1.");
      assert.deepEqual(runs, [{ order: "A-1" }]);

      const b2 = await rowOf("B-2");
      await b2.getByRole("textbox").fill("order already shipped");
      await b2.getByRole("button", { name: /^Deny/ }).click();
      await page.getByRole("status").filter({ hasText: "refund: denied." }).waitFor();
      assert.equal((await t.waitForTask(second)).result, "No refund for B-2.");
      assert.equal(runs.length, 1);

      await page.getByText("Nothing is waiting.").waitFor();
      const history = page.getByRole("table", { name: /Decided approvals/ });
      await history.getByText("order already shipped").waitFor();
      assert.equal(await history.getByText("approved", { exact: true }).count(), 1);
      assert.equal(await history.getByText("denied", { exact: true }).count(), 1);

      // The approved task's page: its timeline shows the approval, the call and the end.
      await nav(page).getByRole("link", { name: "Tasks", exact: true }).click();
      await page.getByRole("link", { name: first }).click();
      const timeline = page.getByRole("list", { name: "Timeline, oldest first" });
      await timeline.locator('li[data-kind="approval_requested"]').waitFor();
      await timeline
        .locator('li[data-kind="approval_decided"]')
        .filter({ hasText: "approved by SWITCHYARD_API_KEY" })
        .waitFor();
      await timeline.locator('li[data-kind="tool_call"]').filter({ hasText: "refund" }).waitFor();
      await timeline.locator('li[data-kind="finished"]').filter({ hasText: "complete" }).waitFor();
      assert.deepEqual(
        await timeline.locator("li").evaluateAll((l) => l.map((e) => e.getAttribute("data-kind"))),
        (await t.api("GET", `/api/v1/tasks/${first}/timeline`)).body.events.map((e: any) => e.kind),
        "the page shows the API's timeline, in its order",
      );
      await assertAccessible(page, "a task's page");
    });

    test("a key that may only read sees the decision buttons disabled, with the scope named", async () => {
      const k = await t.api("POST", "/api/v1/admin/keys", {
        name: `ui-reader-${backend}`,
        scopes: ["approvals:read", "tasks:read"],
      });
      const p2 = await (
        await browser.newContext({ viewport: { width: 375, height: 740 }, colorScheme: "dark" })
      ).newPage();
      await signIn(p2, t.url, k.body.key);
      const c3 = await ask("C-3", "later");
      await nav(p2).getByRole("link", { name: "Approvals" }).click();
      const approve = p2.getByRole("button", { name: /^Approve refund / }).first();
      await approve.waitFor();
      assert.equal(await approve.isDisabled(), true);
      await p2.getByText("Deciding needs the approvals:write scope.").waitFor();
      // The overview counts what waits, and links to this page.
      await nav(p2).getByRole("link", { name: "Overview" }).click();
      const waiting = p2
        .locator(".card")
        .filter({ has: p2.getByRole("heading", { name: "Pending approvals" }) });
      await waiting.locator(".num").filter({ hasText: /^1$/ }).waitFor();
      await waiting.getByRole("link").click();
      await p2.getByRole("heading", { level: 1, name: "Approvals" }).waitFor();
      // The waiting task's page at 375 px, dark: Cancel greyed out with the scope named.
      await p2.goto(`${t.url}/admin/tasks/${c3}`);
      await p2
        .getByRole("list", { name: "Timeline, oldest first" })
        .locator('li[data-kind="approval_requested"]')
        .waitFor();
      assert.equal(await p2.getByRole("button", { name: "Cancel task" }).isDisabled(), true);
      await p2.getByText("Cancelling needs the tasks:write scope.").waitFor();
      assert.equal(
        await p2.evaluate(() => {
          const d = (globalThis as any).document.documentElement;
          return d.scrollWidth <= d.clientWidth;
        }),
        true,
        "no sideways scrolling at 375 px",
      );
      await assertAccessible(p2, "a task's page, read-only, 375 px dark");
      await p2.close();
    });

    test("a waiting task cancelled from its page: the status and the timeline's end follow", async () => {
      const id = await ask("D-4", "never");
      await t.waitForTask(id, ["waiting_approval"]);
      await page.goto(`${t.url}/admin/tasks/${id}`);
      await page
        .getByTestId("task-detail-status")
        .filter({ hasText: "waiting_approval" })
        .waitFor();
      await page.getByRole("button", { name: "Cancel task" }).click();
      await page.getByTestId("task-detail-status").filter({ hasText: "cancelled" }).waitFor();
      await page
        .getByRole("list", { name: "Timeline, oldest first" })
        .locator('li[data-kind="finished"]')
        .filter({ hasText: "cancelled" })
        .waitFor();
      assert.equal((await t.api("GET", `/api/v1/tasks/${id}`)).body.status, "cancelled");
    });
  });
}
