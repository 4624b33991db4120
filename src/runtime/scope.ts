/**
 * Scope folders: every scope (`{kind, id}`: a session, a channel or a bot) has one folder,
 * `<workspace>/scopes/<kind>/<id>`, which is all its runtime may write and all its file
 * tools may touch. Ids that are not plain names (a REST client id used as a channel) are
 * hashed, so an id can never name a path outside `scopes/<kind>/`.
 *
 * For other parts of the server (attachments): {@link scopeRoot} gives a scope's folder,
 * {@link copyIntoScope} writes a file into it under the same confinement as the tools.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { RuntimeScope } from "../sdk/runtime.ts";
import type { OwnerScope } from "../sdk/scopes.ts";
import { resolveInScope } from "./paths.ts";

const PLAIN_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/;

/** The folder name of a scope id: the id when it is a plain name, else `h-<sha256 prefix>`. */
export function scopeFolderName(id: string): string {
  if (PLAIN_ID.test(id) && id !== "." && id !== "..") return id;
  return `h-${createHash("sha256").update(id).digest("hex").slice(0, 32)}`;
}

/**
 * The absolute folder of `scope`: `<workspaceDir>/scopes/<kind>/<id>` (not created).
 * @param workspaceDir the server's workspace (`config.workspaceDir`)
 */
export function scopeRoot(workspaceDir: string, scope: OwnerScope): string {
  return join(workspaceDir, "scopes", scope.kind, scopeFolderName(scope.id));
}

/** Creates the scope's folder (mode 0700) if needed and returns it with the scope. */
export async function ensureScope(workspaceDir: string, scope: OwnerScope): Promise<RuntimeScope> {
  const path = scopeRoot(workspaceDir, scope);
  await mkdir(path, { recursive: true, mode: 0o700 });
  return { kind: scope.kind, id: scope.id, path };
}

/**
 * Writes a file into a scope's folder (creating the folder and parent folders), e.g. an
 * attachment the model asked for. The write goes to a temporary name first and is renamed
 * into place, so a reader never sees half a file.
 * @param relPath where in the scope, relative to its root (`..`, absolute paths and
 *   symlinks that leave the scope are refused)
 * @param data the bytes, or a stream / async iterable of chunks (e.g. from an S3 body)
 * @returns the absolute path written on this machine
 * @throws PathEscapeError when `relPath` leaves the scope; fs errors as they come
 */
export async function copyIntoScope(
  workspaceDir: string,
  scope: OwnerScope,
  relPath: string,
  data: Uint8Array | AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
): Promise<string> {
  const { path: hostRoot } = await ensureScope(workspaceDir, scope);
  const target = await resolveInScope({ hostRoot }, relPath);
  await mkdir(dirname(target), { recursive: true });
  // The parent may have been a symlink planted meanwhile: check the final place again.
  const checked = await resolveInScope({ hostRoot }, target);
  const tmp = join(dirname(checked), `.switchyard-${process.pid}-${Date.now()}.part`);
  try {
    const source =
      data instanceof Uint8Array
        ? Readable.from([data])
        : Readable.from(data as AsyncIterable<Uint8Array>);
    await pipeline(source, createWriteStream(tmp, { flags: "wx", mode: 0o600 }));
    await rename(tmp, checked);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return checked;
}
