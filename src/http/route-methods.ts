/**
 * Which methods a path answers, from the routes registered with Fastify: an unknown path
 * gets 404, a known path under another method 405 with `Allow` (RFC 9110 §15.5.6: a 405
 * response MUST carry `Allow` listing the target's methods). Fastify itself answers 404
 * for both.
 */

/** The registered routes' path patterns and their methods. */
export class RouteMethods {
  readonly #routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  /**
   * Records `methods` for the Fastify path `url` (`/a/:id/b`, `/a/*`; a `:param` takes
   * one segment, `*` the rest of the path).
   */
  add(url: string, methods: string | readonly string[]): void {
    let entry = this.#routes.get(url);
    if (!entry) {
      entry = { pattern: pathPattern(url), methods: new Set() };
      this.#routes.set(url, entry);
    }
    for (const m of typeof methods === "string" ? [methods] : methods) {
      entry.methods.add(m.toUpperCase());
    }
  }

  /**
   * The methods some route answers at `path` (no query string), sorted; empty when no
   * route matches the path. GET implies HEAD (Fastify answers HEAD for every GET route).
   */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const { pattern, methods } of this.#routes.values()) {
      if (pattern.test(path)) for (const m of methods) out.add(m);
    }
    if (out.has("GET")) out.add("HEAD");
    return [...out].sort();
  }
}

function pathPattern(url: string): RegExp {
  const source = url
    .split("/")
    .map((segment) => {
      if (segment === "*") return ".*";
      return segment
        .split(/(:[A-Za-z0-9_]+)/)
        .map((part) =>
          part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
        )
        .join("");
    })
    .join("/");
  return new RegExp(`^${source}$`);
}
