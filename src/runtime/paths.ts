/**
 * Path confinement for the workspace tools: every path a tool is given must stay inside
 * the scope root. `..` that climbs out, absolute paths elsewhere and symlinks (also ones
 * planted by `bash`, also dangling ones a write would follow) that lead outside are
 * refused with a {@link PathEscapeError}. Checks use the real path (`realpath`) of what
 * exists and the lexical path of what does not exist yet.
 */
import { lstat, readlink, realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** A tool path that leaves the scope root, or is not a usable path; its message is for the model. */
export class PathEscapeError extends Error {}

/** Most symlinks followed while resolving one path (as Linux's ELOOP limit). */
const MAX_LINKS = 40;

/** True when `p` is `root` or inside it (both absolute, normalised). */
export function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/**
 * The real path of `p`, following symlinks as far as the path exists: a missing tail is
 * appended as it is, a dangling symlink is followed to where it points.
 * @throws PathEscapeError after {@link MAX_LINKS} symlinks
 */
export async function realpathLoose(p: string, links = 0): Promise<string> {
  if (links > MAX_LINKS) throw new PathEscapeError("Too many levels of symbolic links");
  try {
    return await realpath(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  let st: Awaited<ReturnType<typeof lstat>> | undefined;
  try {
    st = await lstat(p);
  } catch {}
  if (st?.isSymbolicLink()) {
    return realpathLoose(resolve(dirname(p), await readlink(p)), links + 1);
  }
  const parent = dirname(p);
  if (parent === p) return p;
  return join(await realpathLoose(parent, links), basename(p));
}

/** Where the scope root may be named in absolute paths. */
export interface ScopePaths {
  /** The scope folder on this machine. */
  hostRoot: string;
  /** The root as commands see it (`Runtime.root`), when it differs. */
  runtimeRoot?: string;
}

/**
 * Resolves a tool's path inside the scope.
 * @param p relative to the root, or absolute under `hostRoot` or `runtimeRoot`
 * @returns the real absolute path on this machine (what exists resolved, the rest appended)
 * @throws PathEscapeError when it leaves the root (lexically or through a symlink), is
 *   absolute elsewhere, or is not a string without NUL characters
 */
export async function resolveInScope(paths: ScopePaths, p: string): Promise<string> {
  if (typeof p !== "string" || p.includes("\0")) {
    throw new PathEscapeError("A path must be a string without NUL characters");
  }
  const root = await realpath(paths.hostRoot);
  let rel = p.trim() === "" ? "." : p;
  if (isAbsolute(rel)) {
    const under = [paths.runtimeRoot, paths.hostRoot, root].find(
      (r): r is string => !!r && isInside(resolve(r), resolve(rel)),
    );
    if (!under) {
      throw new PathEscapeError(
        `Absolute path ${p} is outside the workspace (${paths.runtimeRoot ?? paths.hostRoot}); use a path relative to it`,
      );
    }
    rel = relative(resolve(under), resolve(rel)) || ".";
  }
  const lexical = resolve(root, rel);
  if (!isInside(root, lexical)) {
    throw new PathEscapeError(`Path ${p} leaves the workspace (.. climbs above its root)`);
  }
  const real = await realpathLoose(lexical);
  if (!isInside(root, real)) {
    throw new PathEscapeError(`Path ${p} leads outside the workspace through a symbolic link`);
  }
  return real;
}

/** `abs` relative to the scope root, for messages (`.` for the root itself). */
export function displayPath(hostRoot: string, abs: string): string {
  return relative(hostRoot, abs) || ".";
}
