/**
 * How the attachment store joins the server (called from app.ts with a few lines): the
 * service the settings describe with its tools, the session service's check of the
 * attachment ids a message carries, what the model sees of them, and the REST routes.
 */
import type { FastifyInstance } from "fastify";
import type { AgentTool, ToolRegistry } from "../agent/tools.ts";
import type { Config } from "../config.ts";
import type { ApiKeyAuth } from "../http/auth.ts";
import { InvalidInputError } from "../sessions/errors.ts";
import type { Store } from "../store/index.ts";
import type { Session } from "../store/sessions.ts";
import { attachmentsApi } from "./api.ts";
import { userContentOf } from "./model-content.ts";
import type { AttachmentService } from "./service.ts";
import { attachmentServiceFromEnv } from "./settings.ts";
import { attachFileTool, copyAttachmentTool, type WorkspaceAttachmentDeps } from "./workspace.ts";

/** One attachment as a message's `metadata.attachments` lists it. */
export interface MessageAttachment {
  id: string;
  name: string;
  media_type: string;
  size: number;
  sha256: string;
}

/**
 * The session service's `describeAttachments`: each id must be stored in the session's
 * scope.
 * @throws InvalidInputError naming `attachments[i]` for an id the session does not own
 *   (another scope's id reads exactly like an unknown one)
 */
export function attachmentDescriber(store: Pick<Store, "attachments">) {
  return async (sessionId: string, ids: string[]): Promise<Record<string, unknown>[]> => {
    const out: MessageAttachment[] = [];
    for (const [i, id] of [...new Set(ids)].entries()) {
      const row = await store.attachments.getInScope(id, { kind: "session", id: sessionId });
      if (!row) {
        throw new InvalidInputError(`attachments[${i}]`, `no attachment ${id} in this session`);
      }
      out.push({
        id: row.id,
        name: row.name,
        media_type: row.mediaType,
        size: row.size,
        sha256: row.sha256,
      });
    }
    return out as unknown as Record<string, unknown>[];
  };
}

/** Mounts the attachment routes on `server`. */
export function mountAttachmentsApi(
  server: FastifyInstance,
  deps: { auth: ApiKeyAuth; store: Store; attachments: AttachmentService },
): void {
  server.register(attachmentsApi, deps);
}

/** The agent loop's `userContent`: a message's attachments, resolved in its session's scope. */
export function modelContent(attachments: AttachmentService) {
  return (text: string, metadata: Record<string, unknown> | undefined, session: Session) =>
    userContentOf(attachments, text, metadata, { kind: "session", id: session.id });
}

/** The core attachment tools: `attach_file` and `copy_attachment_to_workspace`. */
export function attachmentTools(deps: WorkspaceAttachmentDeps): AgentTool[] {
  return [attachFileTool(deps), copyAttachmentTool(deps)];
}

/**
 * The server's attachment service, as `env` describes it (local folder under `dataDir`, or
 * an S3-compatible bucket), with the core attachment tools registered on `tools`.
 * @throws Error naming the setting when an attachment setting is invalid
 */
export function createAttachments(w: {
  config: Pick<Config, "env" | "dataDir" | "workspaceDir">;
  store: Store;
  runtime: WorkspaceAttachmentDeps["runtime"];
  tools: ToolRegistry;
}): AttachmentService {
  const { config, store } = w;
  const attachments = attachmentServiceFromEnv(config.env, config.dataDir, store);
  for (const tool of attachmentTools({
    store,
    attachments,
    runtime: w.runtime,
    workspaceDir: config.workspaceDir,
  })) {
    w.tools.register(tool);
  }
  return attachments;
}
