/**
 * The zod schemas of a job as REST, MCP and an integration's `jobs.ts` give it (shape only;
 * {@link checkSchedule} and the job service check meaning: a cron expression, a time
 * zone, that the target exists).
 */
import { z } from "zod";
import { dispatchConfigSchema, executionConfigSchema } from "../sessions/schemas.ts";

/** `schedule`: `{cron, tz?}`, `{every_seconds}` or `{at}`. */
export const scheduleSchema = z.union([
  z.strictObject({ cron: z.string().min(1).max(200), tz: z.string().min(1).max(100).optional() }),
  z.strictObject({
    every_seconds: z
      .number()
      .int()
      .positive()
      .max(366 * 86_400),
  }),
  z.strictObject({ at: z.string().min(1).max(100) }),
]);

/** `target`: a session id, `{session_id}`, or `{bot_id, client_id}` (get-or-create). */
export const targetSchema = z.union([
  z.string().min(1).max(200),
  z.strictObject({ session_id: z.string().min(1).max(200) }),
  z.strictObject({ bot_id: z.string().min(1).max(200), client_id: z.string().min(1).max(512) }),
]);

/** Every field of a job, all optional (PUT). */
export const jobFieldsSchema = {
  name: z.string().min(1).max(200),
  schedule: scheduleSchema,
  target: targetSchema,
  prompt: z.string().min(1, "must not be empty").max(100_000),
  execution_config: executionConfigSchema.nullable(),
  dispatch_config: dispatchConfigSchema.nullable(),
  enabled: z.boolean(),
  missed: z.enum(["run_once", "skip"]),
  overlap: z.enum(["skip", "queue"]),
};

/** The body of `POST /api/v1/jobs` (also one definition of a `jobs.ts`). */
export const createJobBody = z.strictObject({
  name: jobFieldsSchema.name,
  schedule: jobFieldsSchema.schedule,
  target: jobFieldsSchema.target,
  prompt: jobFieldsSchema.prompt,
  execution_config: jobFieldsSchema.execution_config.optional(),
  dispatch_config: jobFieldsSchema.dispatch_config.optional(),
  enabled: jobFieldsSchema.enabled.default(true),
  missed: jobFieldsSchema.missed.default("run_once"),
  overlap: jobFieldsSchema.overlap.default("skip"),
});

/** The body of `PUT /api/v1/jobs/{id}`: the given fields replace the job's. */
export const updateJobBody = z.strictObject({
  name: jobFieldsSchema.name.optional(),
  schedule: jobFieldsSchema.schedule.optional(),
  target: jobFieldsSchema.target.optional(),
  prompt: jobFieldsSchema.prompt.optional(),
  execution_config: jobFieldsSchema.execution_config.optional(),
  dispatch_config: jobFieldsSchema.dispatch_config.optional(),
  enabled: jobFieldsSchema.enabled.optional(),
  missed: jobFieldsSchema.missed.optional(),
  overlap: jobFieldsSchema.overlap.optional(),
});

/** A job as POST takes it, after defaults. */
export type JobInput = z.infer<typeof createJobBody>;
/** A partial job as PUT takes it. */
export type JobPatch = z.infer<typeof updateJobBody>;
