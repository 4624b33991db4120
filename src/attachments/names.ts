/** File names and media types as the attachment store keeps them. */

/** Longest file name kept, characters. */
export const MAX_NAME_CHARS = 255;

/**
 * A file name safe to store and to show: the last path segment, control characters
 * removed, at most 255 characters; `file` when nothing is left.
 */
export function cleanFileName(name: string | undefined): string {
  const base = String(name ?? "")
    .split(/[\\/]/)
    .pop()!
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim();
  const out = base === "." || base === ".." ? "" : base;
  return out.slice(0, MAX_NAME_CHARS) || "file";
}

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** Media types of common file name extensions, for files sent without a type. */
const BY_EXTENSION: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
  pdf: "application/pdf",
  html: "text/html",
  xml: "application/xml",
  yaml: "application/yaml",
  yml: "application/yaml",
  log: "text/plain",
  zip: "application/zip",
};

/**
 * A media type without parameters, lower-case (`text/plain; charset=utf-8` → `text/plain`).
 * When absent, malformed or `application/octet-stream`, the type of `name`'s extension for
 * common ones (`.png`, `.txt`, `.pdf`…), else `application/octet-stream`.
 */
export function cleanMediaType(type: string | undefined, name?: string): string {
  const t = String(type ?? "")
    .split(";", 1)[0]!
    .trim()
    .toLowerCase();
  if (MEDIA_TYPE.test(t) && t !== "application/octet-stream") return t;
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(name ?? "")?.[1]?.toLowerCase();
  return (ext && BY_EXTENSION[ext]) || "application/octet-stream";
}
