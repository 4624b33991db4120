/**
 * Attachments and the runtime scope (the task's workspace folder, `src/runtime/`):
 * - `copy_attachment_to_workspace` copies a file of the conversation into the scope, so
 *   `bash` and the file tools can work on it;
 * - `attach_file` with `path` stores a file of the scope as an attachment of the session
 *   and sends it with the reply (with `attachment_id`, a stored file as it is).
 * Paths are confined to the scope root exactly as the workspace tools' are: `..`,
 * absolute paths elsewhere and symlinks that leave the scope are refused with a tool error.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { AgentTool } from "../agent/tools.ts";
import { displayPath, resolveInScope } from "../runtime/paths.ts";
import { copyIntoScope } from "../runtime/scope.ts";
import type { RuntimeService } from "../runtime/service.ts";
import type { ToolContext } from "../sdk/tools.ts";
import type { Store } from "../store/index.ts";
import { attachToReply } from "./reply-files.ts";
import type { AttachmentService } from "./service.ts";

/** What the tools need. */
export interface WorkspaceAttachmentDeps {
  store: Pick<Store, "attachments">;
  attachments: AttachmentService;
  /** The runtime service; without it the tools work on stored attachments only. */
  runtime?: RuntimeService;
  /** The server's workspace (`config.workspaceDir`), where scope folders are. */
  workspaceDir: string;
}

/** The task's scope folder, opened through the runtime service. */
async function scopeOf(deps: WorkspaceAttachmentDeps, ctx: ToolContext) {
  if (!deps.runtime) throw new Error("This server has no workspace runtime");
  const s = await deps.runtime.open({ sessionId: ctx.sessionId, botId: ctx.botId });
  return { scope: s.scope, paths: { hostRoot: s.scope.path, runtimeRoot: s.runtime.root } };
}

/**
 * Stores the scope file `path` as an attachment of the session and attaches it to the reply.
 * @throws Error (the tool's error) for a path outside the scope, not a regular file, or
 *   larger than the attachment limit
 */
export async function attachWorkspaceFile(
  deps: WorkspaceAttachmentDeps,
  ctx: ToolContext,
  path: string,
) {
  const { paths } = await scopeOf(deps, ctx);
  const abs = await resolveInScope(paths, path);
  const st = await stat(abs).catch(() => undefined);
  if (!st?.isFile()) throw new Error(`${path}: no such file in the workspace`);
  if (st.size > deps.attachments.maxBytes) {
    throw new Error(
      `${path} is larger than the attachment limit of ${deps.attachments.maxBytes} bytes`,
    );
  }
  const saved = await deps.attachments.save({
    scope: { kind: "session", id: ctx.sessionId },
    name: basename(abs),
    data: createReadStream(abs),
  });
  return attachToReply(deps.store, deps.attachments, ctx, saved.id);
}

/** The core tool `attach_file`: a stored file (`attachment_id`) or a workspace file (`path`). */
export function attachFileTool(deps: WorkspaceAttachmentDeps): AgentTool {
  return {
    name: "attach_file",
    description:
      "Send a file with your reply: either a file of this conversation by its attachment id (as listed with the user's message), or a file of your workspace by its path.",
    parameters: {
      type: "object",
      properties: {
        attachment_id: { type: "string", description: "An attachment's id" },
        path: { type: "string", description: "A file in your workspace, relative to its root" },
      },
      additionalProperties: false,
    },
    async execute(args: { attachment_id?: unknown; path?: unknown }, ctx) {
      const id = typeof args.attachment_id === "string" && args.attachment_id;
      const path = typeof args.path === "string" && args.path;
      if (Boolean(id) === Boolean(path)) {
        throw new Error("Give exactly one of attachment_id and path");
      }
      if (id) return attachToReply(deps.store, deps.attachments, ctx, id);
      return attachWorkspaceFile(deps, ctx, path as string);
    },
  };
}

/** The core tool `copy_attachment_to_workspace`. */
export function copyAttachmentTool(deps: WorkspaceAttachmentDeps): AgentTool {
  return {
    name: "copy_attachment_to_workspace",
    description:
      "Copy a file of this conversation (by its attachment id) into your workspace, so bash and the file tools can use it. Returns its path in the workspace.",
    parameters: {
      type: "object",
      properties: {
        attachment_id: { type: "string", description: "The attachment's id" },
        path: {
          type: "string",
          description: "Where in the workspace (default: the file's name at the root)",
        },
      },
      required: ["attachment_id"],
      additionalProperties: false,
    },
    async execute(args: { attachment_id?: unknown; path?: unknown }, ctx) {
      if (typeof args.attachment_id !== "string" || !args.attachment_id) {
        throw new Error("attachment_id must be a non-empty string");
      }
      const a = await deps.attachments.resolve(
        { id: args.attachment_id },
        { kind: "session", id: ctx.sessionId },
      );
      if (!a) throw new Error(`No attachment ${args.attachment_id} in this conversation`);
      const { scope, paths } = await scopeOf(deps, ctx);
      const rel = typeof args.path === "string" && args.path ? args.path : a.name;
      const written = await copyIntoScope(deps.workspaceDir, scope, rel, a.data());
      const root = await resolveInScope(paths, ".");
      return { path: displayPath(root, written), size: a.bytes, media_type: a.mediaType };
    },
  };
}
