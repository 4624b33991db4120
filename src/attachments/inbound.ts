/**
 * Inbound files from chat adapters: once the adapter handler has found the message's
 * session, each `AttachmentRef` is downloaded as the adapter's `attachmentSource` says,
 * through the one outbound client, and stored in the session's scope. A file that cannot
 * be had (too large by the provider's word or while streaming, a lookup or download that
 * fails, an adapter that cannot fetch files) is kept as a note instead, so the model is
 * told about it; the message is stored either way. The download request (which may carry
 * the bot's token) is used once, never stored or logged.
 */
import type { Logger } from "pino";
import type { Adapter, AttachmentRef } from "../sdk/adapter.ts";
import type { OwnerScope } from "../sdk/scopes.ts";
import type { AttachmentService } from "./service.ts";

/** Longest time one inbound download may take, ms. */
export const INBOUND_DOWNLOAD_TIMEOUT_MS = 30_000;

/** What became of a message's inbound files. */
export interface SavedInbound {
  /** Ids of the stored attachments, in the refs' order. */
  ids: string[];
  /** Files not stored, with a secret-free reason. */
  failed: Array<{ name: string; reason: string }>;
}

/** The outbound client's streaming GET. */
export interface Downloader {
  download(
    url: string,
    opts: { headers?: Record<string, string>; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<{ headers: Record<string, string>; body: AsyncIterable<Uint8Array> }>;
}

/** Saves an adapter's inbound files into a scope. */
export type InboundSaver = (
  adapter: Adapter,
  refs: AttachmentRef[],
  scope: OwnerScope,
  signal: AbortSignal,
) => Promise<SavedInbound>;

/** Makes the saver the adapter host uses. */
export function inboundSaver(deps: {
  attachments: AttachmentService;
  http: Downloader;
  log: Logger;
  timeoutMs?: number;
}): InboundSaver {
  const { attachments, http, log } = deps;
  const max = attachments.maxBytes;
  return async (adapter, refs, scope, signal) => {
    const out: SavedInbound = { ids: [], failed: [] };
    for (const ref of refs) {
      try {
        if (ref.bytes !== undefined && ref.bytes > max) {
          throw new Error(`larger than the attachment limit of ${max} bytes`);
        }
        if (!adapter.attachmentSource) throw new Error("this adapter cannot fetch files");
        const source = await adapter.attachmentSource(ref, signal);
        const res = await http.download(source.url, {
          ...(source.headers ? { headers: source.headers } : {}),
          timeoutMs: deps.timeoutMs ?? INBOUND_DOWNLOAD_TIMEOUT_MS,
          signal,
        });
        const length = Number(res.headers["content-length"] ?? Number.NaN);
        if (Number.isFinite(length) && length > max) {
          (res.body as { destroy?: () => void }).destroy?.();
          throw new Error(`larger than the attachment limit of ${max} bytes`);
        }
        const saved = await attachments.save({
          scope,
          name: source.name ?? ref.name,
          mediaType: source.mediaType ?? ref.mediaType ?? res.headers["content-type"],
          data: res.body,
        });
        out.ids.push(saved.id);
      } catch (err) {
        const reason = (err as Error)?.message ?? String(err);
        log.warn({ adapter: adapter.name, file: ref.name, reason }, "inbound file not stored");
        out.failed.push({ name: ref.name, reason });
      }
    }
    return out;
  };
}
