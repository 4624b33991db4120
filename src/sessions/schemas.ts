/**
 * The schemas of the nested objects a message or session carries (`execution_config`,
 * `dispatch_config`), one per object, shared by every way in: the REST body schemas use
 * them, and the session service checks with them again, so ctx and MCP refuse what REST
 * refuses, in the same words.
 */
import { z } from "zod";
import { modelSpecSchema } from "../agent/models.ts";
import { approvalTighteningSchema } from "../approvals/policy.ts";

/** A required string: "required" when absent, else "must be a string" / "must not be empty". */
const requiredString = () =>
  z
    .string({ error: (iss) => (iss.input === undefined ? "required" : "must be a string") })
    .min(1, "must not be empty");

/**
 * `execution_config`: per-run settings (see `sdk/execution.ts`). Strict: an unknown key is
 * refused, so a misspelt `skils` is not silently ignored.
 */
export const executionConfigSchema = z.strictObject({
  system_preamble: z.string().optional(),
  skills: z.array(z.string()).optional(),
  tools: z.array(z.string()).optional(),
  model_override: modelSpecSchema.optional(),
  approval: approvalTighteningSchema.optional(),
});

/** `type` inside a dispatch config (the message's `dispatch_type` overrides it). */
const dispatchType = z.string().min(1, "must not be empty").optional();

/**
 * The strict `dispatch_config` of each core dispatch type. Other types (an integration's
 * dispatcher) keep their own shape: only `type` is checked, and the dispatcher's
 * `checkConfig` may refuse the rest.
 */
export const coreDispatchConfigSchemas: Record<string, z.ZodType<Record<string, unknown>>> = {
  none: z.strictObject({ type: dispatchType }),
  webhook: z.strictObject({ type: dispatchType, url: requiredString() }),
  internal: z.strictObject({
    type: dispatchType,
    session_id: requiredString(),
    run_agent: z.boolean().optional(),
  }),
};

/** A dispatch config of a type that is not a core one. */
const otherDispatchConfig = z.looseObject({ type: dispatchType });

/** A dispatch config as REST bodies take it: any object (checked per type by the service). */
export const dispatchConfigSchema = z.record(z.string(), z.unknown());

/** The schema of a `dispatch_config` delivered as `type`. */
export function dispatchConfigSchemaFor(type: string): z.ZodType<Record<string, unknown>> {
  return Object.hasOwn(coreDispatchConfigSchemas, type)
    ? coreDispatchConfigSchemas[type]!
    : otherDispatchConfig;
}
