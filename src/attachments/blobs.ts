/**
 * Where attachment bytes live: a {@link BlobStore} keeps opaque objects by key. The local
 * one is a folder (`./local.ts`), the S3-compatible one a bucket and prefix (`./s3.ts`).
 * Scope checks are not theirs: the service (`./service.ts`) only asks for keys of rows it
 * found in the caller's scope.
 */

/** A place for attachment bytes. */
export interface BlobStore {
  /** `local` or `s3`, for the banner and logs. */
  readonly kind: string;
  /**
   * Writes the object `key` from a file already complete on local disk (`file`, `size`
   * bytes). The caller deletes `file` afterwards.
   * @throws on a storage failure (nothing is left under `key`)
   */
  putFile(key: string, file: string, size: number, mediaType: string): Promise<void>;
  /** The object's bytes. @throws when it is missing */
  get(key: string): AsyncIterable<Uint8Array>;
  /** Removes the object; missing is fine. */
  delete(key: string): Promise<void>;
  /** Releases clients and sockets. */
  close(): Promise<void>;
}
