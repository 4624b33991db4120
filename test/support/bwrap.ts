/**
 * Debian's bubblewrap for the sandbox suites. When `bwrap` is missing or cannot start a
 * sandbox here (no user namespaces in a container), the suites are registered and
 * reported as skipped with the reason — unless `SWITCHYARD_TEST_REQUIRE_BWRAP=1` (set by
 * `.ci/run`), which makes the file fail.
 */
import { probeBwrap } from "../../src/runtime/bubblewrap.ts";

/**
 * The node:test options of a bubblewrap suite: `base` (e.g. `runsOn(backend)`) when it
 * already skips, else `{ skip: reason }` when bwrap does not work, else `{}`.
 * @throws Error when bwrap does not work but `SWITCHYARD_TEST_REQUIRE_BWRAP=1`
 */
export function withBwrap(base: { skip?: string }): { skip?: string } {
  if (base.skip) return base;
  const probe = probeBwrap();
  if (probe.ok) return base;
  if (process.env.SWITCHYARD_TEST_REQUIRE_BWRAP === "1") {
    throw new Error(
      `SWITCHYARD_TEST_REQUIRE_BWRAP=1 but ${probe.reason}: the bubblewrap suites must run`,
    );
  }
  return { skip: `bubblewrap unavailable: ${probe.reason}` };
}
