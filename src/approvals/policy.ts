/**
 * Approval policies (issue 13): which tool calls wait for a person.
 *
 * A bot's `approval` is `{default: "never" | "always", tools: {<name>: "never" | "always"}}`
 * (a tool named in `tools` follows its own rule, the others `default`); no policy means
 * never ask. A run's `execution_config.approval` may only TIGHTEN it: it takes the same
 * shape but only `"always"` is accepted (`{default: "always"}` asks for every tool,
 * `{tools: {x: "always"}}` for `x`), and a call waits when either says so.
 */
import { z } from "zod";
import type { ApprovalPolicy, ApprovalRule } from "../store/approval-tables.ts";

export type { ApprovalPolicy, ApprovalRule } from "../store/approval-tables.ts";

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const rule = z.enum(["never", "always"], { error: 'must be "never" or "always"' });
const toolName = z.string().regex(TOOL_NAME, "tool names are 1–64 letters, digits, _ or -");

/**
 * A bot's policy on the wire (admin API). Strict: an unknown key is refused. `tools`
 * defaults to `{}`.
 */
export const approvalPolicySchema = z.strictObject({
  default: rule,
  tools: z.record(toolName, rule).optional(),
});

const TIGHTEN_ONLY =
  'only "always" is accepted: execution_config.approval may only tighten the bot\'s policy';
const always = z.literal("always", { error: TIGHTEN_ONLY });

/** `execution_config.approval`: tightening only, so every value is `"always"`. */
export const approvalTighteningSchema = z.strictObject({
  default: always.optional(),
  tools: z.record(toolName, always).optional(),
});

/** A run's tightening, as `execution_config.approval` carries it. */
export type ApprovalTightening = z.infer<typeof approvalTighteningSchema>;

/** The policy as stored from a parsed wire value (`tools` filled in). */
export function toPolicy(v: z.infer<typeof approvalPolicySchema>): ApprovalPolicy {
  return { default: v.default, tools: { ...(v.tools ?? {}) } };
}

/**
 * Whether a call of `tool` waits for a person, by the bot's policy tightened by the run's.
 * @param policy the bot's policy (null: never ask)
 * @param tightening the run's `execution_config.approval`, if any
 */
export function toolNeedsApproval(
  tool: string,
  policy: ApprovalPolicy | null | undefined,
  tightening?: ApprovalTightening | null,
): boolean {
  const own: ApprovalRule | undefined = policy
    ? Object.hasOwn(policy.tools ?? {}, tool)
      ? policy.tools[tool]
      : policy.default
    : undefined;
  if (own === "always") return true;
  if (!tightening) return false;
  if (tightening.default === "always") return true;
  return Object.hasOwn(tightening.tools ?? {}, tool) && tightening.tools![tool] === "always";
}
