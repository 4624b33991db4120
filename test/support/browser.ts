/**
 * Debian's Chromium for the browser tests (playwright-core drives it; no browser download).
 * Found at `SWITCHYARD_TEST_CHROMIUM` or /usr/bin/chromium. When there is none, the suites
 * are registered and reported as skipped with {@link BROWSER_SKIP_REASON} — unless
 * `SWITCHYARD_TEST_REQUIRE_BROWSER=1` (set by `.ci/run`), which makes the file fail.
 */
import { existsSync } from "node:fs";

/**
 * The Chromium executable, or undefined when none is installed. `SWITCHYARD_TEST_CHROMIUM`,
 * when set, is the only place looked at.
 */
export const chromiumPath: string | undefined = [
  process.env.SWITCHYARD_TEST_CHROMIUM ?? "/usr/bin/chromium",
].find((p) => existsSync(p));

/** Why browser suites are skipped when no Chromium is found. */
export const BROWSER_SKIP_REASON =
  "no Chromium: install Debian's chromium or set SWITCHYARD_TEST_CHROMIUM";

/**
 * The node:test options of a browser suite: `base` (e.g. `runsOn(backend)`) when it already
 * skips, else `{ skip: reason }` when no browser exists, else `{}`.
 * @throws Error when no browser exists but `SWITCHYARD_TEST_REQUIRE_BROWSER=1`
 */
export function withBrowser(base: { skip?: string }): { skip?: string } {
  if (base.skip) return base;
  if (chromiumPath) return base;
  if (process.env.SWITCHYARD_TEST_REQUIRE_BROWSER === "1") {
    throw new Error(
      `SWITCHYARD_TEST_REQUIRE_BROWSER=1 but ${BROWSER_SKIP_REASON}: the browser suites must run`,
    );
  }
  return { skip: BROWSER_SKIP_REASON };
}

/** Chromium's arguments: no sandbox only when running as root (it refuses to start otherwise). */
export function chromiumArgs(): string[] {
  return process.getuid?.() === 0 ? ["--no-sandbox"] : [];
}
