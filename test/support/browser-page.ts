/** Helpers for the admin UI's browser suites: sign in, the main navigation, axe-core. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";

const AXE = readFileSync(
  join(import.meta.dirname, "../../node_modules/axe-core/axe.min.js"),
  "utf8",
);

/** Runs axe-core in the page; fails on any serious or critical violation. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  // Through the DevTools protocol, not a <script> tag: the page's CSP (rightly) refuses
  // inline scripts, and the check must not weaken it (no bypassCSP).
  await page.evaluate(`${AXE}\n;0`);
  const violations = await page.evaluate(async () => {
    const r = await (globalThis as any).axe.run((globalThis as any).document);
    return r.violations
      .filter((v: any) => v.impact === "serious" || v.impact === "critical")
      .map(
        (v: any) =>
          `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n: any) => n.target.join(" ")).join("; ")}`,
      );
  });
  assert.deepEqual(violations, [], `axe on ${what}`);
}

/** The UI's main navigation. */
export const nav = (page: Page) => page.getByRole("navigation", { name: "Main" });

/** Signs in at `${url}/admin` with `key` and waits for the shell. */
export async function signIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(`${url}/admin`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}
