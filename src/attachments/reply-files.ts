/**
 * Files a reply carries out: a tool attaches a file to the reply of the task it runs in
 * (`reply_attachments` rows, durable, so a retried delivery sends the same files), and the
 * adapter sender turns each into a `file` output after the reply's text. The core tool
 * `attach_file` (`./workspace.ts`) attaches a stored file or a workspace file.
 */
import type { OutboundFile } from "../sdk/adapter.ts";
import type { Store } from "../store/index.ts";
import type { AttachmentService } from "./service.ts";

/** The files of the reply of `taskId`, read from the store when sent. */
export function replyFiles(store: Pick<Store, "attachments">, attachments: AttachmentService) {
  return async (taskId: string): Promise<OutboundFile[]> => {
    const rows = await store.attachments.ofReply(taskId);
    const out: OutboundFile[] = [];
    for (const row of rows) {
      const a = await attachments.resolve({ id: row.id }, { kind: row.scopeKind, id: row.scopeId });
      if (a) {
        out.push({ id: a.id, name: a.name, mediaType: a.mediaType, bytes: a.bytes, data: a.data });
      }
    }
    return out;
  };
}

/**
 * Attaches attachment `id` of the session's scope to the reply of `taskId`.
 * @throws Error (the tool's error the model sees) when the session has no such attachment
 */
export async function attachToReply(
  store: Pick<Store, "attachments">,
  attachments: AttachmentService,
  ids: { taskId: string; sessionId: string },
  attachmentId: string,
): Promise<{ attached: string; name: string; media_type: string; size: number }> {
  const a = await attachments.resolve({ id: attachmentId }, { kind: "session", id: ids.sessionId });
  if (!a) throw new Error(`No attachment ${attachmentId} in this conversation`);
  await store.attachments.attachToReply(ids.taskId, a.id);
  return { attached: a.id, name: a.name, media_type: a.mediaType, size: a.bytes };
}
