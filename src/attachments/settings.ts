/**
 * The attachment settings, read from the environment:
 * - `SWITCHYARD_ATTACHMENTS`: `local` (default; files under `<data dir>/attachments/`) or
 *   `s3://<bucket>/<prefix>` (an S3-compatible bucket; `S3_ENDPOINT` for a non-AWS server,
 *   `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_REGION` as the AWS SDK reads them);
 * - `SWITCHYARD_ATTACHMENT_MAX_BYTES`: the largest file accepted, bytes (default 25 MB,
 *   26 214 400).
 */
import { join } from "node:path";
import type { BlobStore } from "./blobs.ts";
import { LocalBlobStore } from "./local.ts";
import { parseS3Url, S3BlobStore } from "./s3.ts";
import { AttachmentService } from "./service.ts";

/** Default largest attachment: 25 MB (25 × 1024 × 1024 bytes). */
export const DEFAULT_ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024;

/**
 * The attachment store the settings in `env` describe.
 * @param dataDir the server's data dir (local files and spool files go under it)
 * @throws Error naming the setting when a value is invalid
 */
export function attachmentServiceFromEnv(
  env: Record<string, string | undefined>,
  dataDir: string,
  store: ConstructorParameters<typeof AttachmentService>[0]["store"],
): AttachmentService {
  const raw = env.SWITCHYARD_ATTACHMENT_MAX_BYTES?.trim();
  const maxBytes = raw ? Number(raw) : DEFAULT_ATTACHMENT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new Error("SWITCHYARD_ATTACHMENT_MAX_BYTES must be a positive whole number of bytes");
  }
  const where = env.SWITCHYARD_ATTACHMENTS?.trim() || "local";
  const root = join(dataDir, "attachments");
  let blobs: BlobStore;
  if (where === "local") {
    blobs = new LocalBlobStore(root);
  } else {
    const { bucket, prefix } = parseS3Url(where);
    blobs = new S3BlobStore({
      bucket,
      prefix,
      ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
      ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
      // Given explicitly when set here (a .env file); else the SDK's own chain.
      ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? {
            credentials: {
              accessKeyId: env.AWS_ACCESS_KEY_ID,
              secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            },
          }
        : {}),
    });
  }
  return new AttachmentService({ store, blobs, maxBytes, spoolDir: join(root, ".spool") });
}
