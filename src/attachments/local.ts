/**
 * The local attachment store: one file per attachment under `<data dir>/attachments/`,
 * named by its storage key (`<scope kind>/<scope id hash>/<attachment id>`).
 */
import { createReadStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { BlobStore } from "./blobs.ts";

/** Files under one folder. */
export class LocalBlobStore implements BlobStore {
  readonly kind = "local";
  readonly #root: string;

  /** @param root the folder (created when missing) */
  constructor(root: string) {
    this.#root = resolve(root);
  }

  #path(key: string): string {
    const p = resolve(join(this.#root, key));
    if (!p.startsWith(this.#root + sep)) throw new Error("invalid attachment storage key");
    return p;
  }

  async putFile(key: string, file: string): Promise<void> {
    const p = this.#path(key);
    await mkdir(dirname(p), { recursive: true });
    await rename(file, p);
  }

  async *get(key: string): AsyncIterable<Uint8Array> {
    yield* createReadStream(this.#path(key));
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async close(): Promise<void> {}
}
