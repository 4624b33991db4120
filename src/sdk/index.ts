/**
 * The public contract for integration authors, reached as `switchyard` through the
 * package's self-reference. Every type an integration sees is defined in this folder,
 * which imports nothing from core; core imports these types from here.
 *
 * Integrations use it with `import type` (erased at run time), so a folder works from any
 * directory; everything needed at run time (the HTTP client, signature checks, the
 * delivery error) arrives in `ctx`.
 *
 * ```ts
 * import type { ToolDefinition } from "switchyard";
 * export default {
 *   name: "echo", description: "Echo text",
 *   parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
 *   execute: async ({ text }) => ({ text }),
 * } satisfies ToolDefinition;
 * ```
 */
export type * from "./adapter.ts";
export type * from "./attachments.ts";
export type * from "./cli.ts";
export type * from "./context.ts";
export type * from "./dispatch.ts";
export type * from "./documents.ts";
export type * from "./errors.ts";
export type * from "./execution.ts";
export type * from "./hooks.ts";
export type * from "./http.ts";
export type * from "./jobs.ts";
export type * from "./logger.ts";
export type * from "./modules.ts";
export type * from "./notifier.ts";
export type * from "./runtime.ts";
export type * from "./scopes.ts";
export type * from "./tools.ts";
export type * from "./verify.ts";
