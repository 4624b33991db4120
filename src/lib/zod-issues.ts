/** How a zod validation failure is told: the dotted path of the field and what is wrong. */
import type { z } from "zod";

/**
 * The field and problem of one zod issue. An unknown key of a strict object is named by
 * its own path with the problem "unknown field" (`execution_config.skils: unknown field`),
 * so a misspelt nested key is pointed at, not its parent.
 * @param prefix put before the issue's path (e.g. `dispatch_config`); "" for none
 * @returns `field` ("" when the issue is about the value itself and `prefix` is "")
 */
export function describeIssue(
  issue: z.core.$ZodIssue,
  prefix = "",
): { field: string; problem: string } {
  const path = issue.path.map(String);
  let problem = issue.message;
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0) {
    path.push(issue.keys[0]!);
    problem = "unknown field";
  }
  const field = [prefix, ...path].filter((p) => p !== "").join(".");
  return { field, problem };
}
