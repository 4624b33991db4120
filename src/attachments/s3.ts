/**
 * The S3-compatible attachment store (`SWITCHYARD_ATTACHMENTS=s3://bucket/prefix`) through
 * `@aws-sdk/client-s3`: objects `<prefix>/<storage key>` in one bucket. `S3_ENDPOINT` points
 * it at any S3-compatible server (path-style addressing then); credentials and region come
 * from the usual AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`)
 * through the SDK's default chain. Files are spooled to local disk first (the size limit is
 * enforced there, while streaming), then sent with their length in one PutObject.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { BlobStore } from "./blobs.ts";

/** Where the S3-compatible store writes. */
export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing `/` (may be empty). */
  prefix: string;
  /** `S3_ENDPOINT`, for S3-compatible servers; path-style addressing when set. */
  endpoint?: string;
  /** `AWS_REGION`; default `us-east-1`. */
  region?: string;
  /** Explicit credentials (tests); default the SDK's chain (AWS_ACCESS_KEY_ID…). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Parses `s3://bucket/prefix`.
 * @throws Error naming the setting when it is not of that form
 */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) {
    throw new Error(
      "SWITCHYARD_ATTACHMENTS must be `local` or s3://<bucket>/<prefix> (bucket: 3–63 lower-case letters, digits, dots, hyphens)",
    );
  }
  return { bucket: m[1]!, prefix: (m[2] ?? "").replace(/^\/+|\/+$/g, "") };
}

/** Objects in one bucket under one prefix. */
export class S3BlobStore implements BlobStore {
  readonly kind = "s3";
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(loc: S3Location) {
    this.#bucket = loc.bucket;
    this.#prefix = loc.prefix;
    this.#client = new S3Client({
      region: loc.region || "us-east-1",
      ...(loc.endpoint ? { endpoint: loc.endpoint, forcePathStyle: true } : {}),
      ...(loc.credentials ? { credentials: loc.credentials } : {}),
      // Plain PUTs with a Content-Length: S3-compatible servers need not know aws-chunked.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  #key(key: string): string {
    return this.#prefix ? `${this.#prefix}/${key}` : key;
  }

  async putFile(key: string, file: string, size: number, mediaType: string): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#key(key),
        Body: createReadStream(file),
        ContentLength: size,
        ContentType: mediaType,
      }),
    );
  }

  async *get(key: string): AsyncIterable<Uint8Array> {
    const out = await this.#client.send(
      new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
    );
    if (!out.Body) throw new Error("attachment object has no body");
    yield* out.Body as Readable;
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}
