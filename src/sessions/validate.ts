/**
 * The checks every way into a session makes, REST and ctx alike (REST's zod schemas say the
 * same; this is what makes the ctx path refuse what REST refuses). Each failure is an
 * {@link InvalidInputError} naming the field.
 */
import type { z } from "zod";
import { nulPath } from "../lib/json-guards.ts";
import { describeIssue } from "../lib/zod-issues.ts";
import { MESSAGE_ROLES } from "../store/messages.ts";
import { InvalidInputError } from "./errors.ts";
import { dispatchConfigSchemaFor, executionConfigSchema } from "./schemas.ts";

/** Longest client_id (characters), as REST allows. */
export const MAX_CLIENT_ID = 512;

/** @throws InvalidInputError unless `clientId` is a non-empty string of at most 512 characters without NUL */
export function checkClientId(clientId: unknown): asserts clientId is string {
  if (typeof clientId !== "string") throw new InvalidInputError("client_id", "must be a string");
  if (clientId.length === 0) throw new InvalidInputError("client_id", "must not be empty");
  if (clientId.length > MAX_CLIENT_ID) {
    throw new InvalidInputError("client_id", `must be at most ${MAX_CLIENT_ID} characters`);
  }
  if (clientId.includes("\0"))
    throw new InvalidInputError("client_id", "must not contain NUL characters");
}

/**
 * @throws InvalidInputError unless `content` is a non-empty string, `role` a message role,
 *   `metadata` a plain object, and none of them holds a NUL character
 */
export function checkMessage(m: { content: unknown; role?: unknown; metadata?: unknown }): void {
  if (typeof m.content !== "string") throw new InvalidInputError("content", "must be a string");
  if (m.content.length === 0) throw new InvalidInputError("content", "must not be empty");
  if (m.content.includes("\0"))
    throw new InvalidInputError("content", "must not contain NUL characters");
  if (m.role !== undefined && !(MESSAGE_ROLES as readonly unknown[]).includes(m.role)) {
    throw new InvalidInputError("role", `must be one of ${MESSAGE_ROLES.join(", ")}`);
  }
  if (m.metadata !== undefined) {
    if (typeof m.metadata !== "object" || m.metadata === null || Array.isArray(m.metadata)) {
      throw new InvalidInputError("metadata", "must be an object");
    }
    const nul = nulPath(m.metadata, "metadata");
    if (nul !== undefined) throw new InvalidInputError(nul, "must not contain NUL characters");
  }
}

/** @throws InvalidInputError naming the first field of `value` that `schema` refuses */
function checkWith(schema: z.ZodType, value: unknown, field: string): void {
  const r = schema.safeParse(value);
  if (r.success) return;
  const { field: path, problem } = describeIssue(r.error.issues[0]!, field);
  throw new InvalidInputError(path, problem);
}

/**
 * @throws InvalidInputError unless `config` (when given) is an `execution_config` the REST
 *   schema accepts: known keys only, `model_override` a `provider:model`
 */
export function checkExecutionConfig(config: unknown): void {
  if (config === undefined || config === null) return;
  checkWith(executionConfigSchema, config, "execution_config");
}

/**
 * @throws InvalidInputError unless `config` (when given) fits the dispatch config schema of
 *   `type` (strict for the core types: `webhook` needs `url`, `internal` needs `session_id`)
 */
export function checkDispatchConfig(type: string, config: unknown): void {
  if (config === undefined || config === null) return;
  checkWith(dispatchConfigSchemaFor(type), config, "dispatch_config");
}
