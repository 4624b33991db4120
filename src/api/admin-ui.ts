/**
 * The admin UI at `/admin`: static ES modules from `src/admin-ui/` (no bundler, no build),
 * with Preact and htm served as they are from node_modules through an import map.
 *
 * - Only files known at start are served: the UI folder's `.html/.js/.css/.svg` files, read
 *   once into memory, and three vendor modules by fixed URL (`/admin/vendor/<pkg>@<version>/…`).
 *   A request path is looked up in that table and never joined to a directory, so no path
 *   (`..`, encoded or not) reaches another file.
 * - Any other `/admin/…` path without a file extension is a client-side route: index.html.
 * - Headers: a Content-Security-Policy allowing scripts from this origin only, plus the one
 *   inline import map by its SHA-256 (an import map cannot be loaded from a file in every
 *   browser yet); `frame-ancestors 'none'`; `X-Content-Type-Options: nosniff`. Vendor files
 *   are cached for a year (their URL carries the version); the UI's own files are revalidated
 *   by ETag each time (`no-cache`), so a new server version is picked up at once.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** Where the UI's files are. */
const UI_DIR = join(import.meta.dirname, "..", "admin-ui");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
  cache: string;
}

const etagOf = (b: Buffer) =>
  `"${createHash("sha256").update(b).digest("base64url").slice(0, 22)}"`;

/** A package's module file and version, from how Node resolves its import specifier. */
function vendorFile(specifier: string): { path: string; version: string } {
  const path = fileURLToPath(import.meta.resolve(specifier));
  let dir = dirname(path);
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (pkg.name && pkg.version) return { path, version: pkg.version };
    } catch {}
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${path}`);
    dir = up;
  }
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** The table of served files (URL path → file) and the CSP, built once. */
function buildTable(): { files: Map<string, StaticFile>; csp: string } {
  const files = new Map<string, StaticFile>();
  const imports: Record<string, string> = {};
  const vendors: Array<[string, string, string]> = [
    ["preact", "preact", "preact.mjs"],
    ["preact/hooks", "preact", "hooks.mjs"],
    ["htm", "htm", "htm.mjs"],
  ];
  for (const [specifier, pkg, name] of vendors) {
    const { path, version } = vendorFile(specifier);
    const url = `/admin/vendor/${pkg}@${version}/${name}`;
    const body = readFileSync(path);
    files.set(url, {
      body,
      type: TYPES[".mjs"]!,
      etag: etagOf(body),
      cache: "public, max-age=31536000, immutable",
    });
    imports[specifier] = url;
  }
  const importMap = JSON.stringify({ imports });
  let mapHash = "";
  for (const path of walk(UI_DIR)) {
    const type = TYPES[extname(path)];
    if (!type) continue;
    const url = `/admin/${relative(UI_DIR, path).split(sep).join("/")}`;
    let body = readFileSync(path);
    if (url === "/admin/index.html") {
      const html = body
        .toString("utf8")
        .replace("<!--importmap-->", () => `<script type="importmap">${importMap}</script>`);
      mapHash = createHash("sha256").update(importMap).digest("base64");
      body = Buffer.from(html);
    }
    files.set(url, { body, type, etag: etagOf(body), cache: "no-cache" });
  }
  if (!files.has("/admin/index.html")) throw new Error(`${UI_DIR}/index.html is missing`);
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${mapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  return { files, csp };
}

/** Registers `GET /admin` and `GET /admin/*`. */
export async function adminUi(app: FastifyInstance): Promise<void> {
  const { files, csp } = buildTable();
  const index = files.get("/admin/index.html")!;
  const serve = (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split("?")[0]!;
    reply
      .header("content-security-policy", csp)
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      .header("x-frame-options", "DENY");
    let file = files.get(path);
    if (!file) {
      // A path that names a file (an extension, or under vendor/) and is not in the table
      // is missing; anything else is a page of the UI.
      const last = path.slice(path.lastIndexOf("/") + 1);
      if (path.startsWith("/admin/vendor/") || last.includes(".") || path.includes("%")) {
        return reply.code(404).send({ detail: "Not found" });
      }
      file = index;
    }
    reply.header("cache-control", file.cache).header("etag", file.etag);
    if (req.headers["if-none-match"] === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };
  app.get("/admin", serve);
  app.get("/admin/*", serve);
}
