/**
 * Discovery: which folders are integrations. Sources are scanned in order (the repo's
 * `integrations/`, each `INTEGRATION_DIRS` path, the workspace's `integrations/`); a later
 * folder with the same name overrides an earlier one. A folder counts when it has a
 * router, dispatcher, hooks, process, adapter, notifier, runtime, tools or skills; `_`/`.` folders
 * are skipped.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/** Module extensions tried for each part, in order. */
export const MODULE_EXTENSIONS = [".ts", ".mjs", ".js"] as const;

/** Parts whose presence makes a folder an integration. */
export const ACTIVE_PARTS = [
  "router",
  "dispatcher",
  "hooks",
  "process",
  "adapter",
  "notifier",
  "runtime",
] as const;

/** A discovered integration folder. */
export interface DiscoveredFolder {
  /** Folder name: the integration's id and URL segment. */
  name: string;
  dir: string;
  /** The source directory it came from. */
  source: string;
  /** Earlier folders of the same name it overrides. */
  overrides: string[];
}

/** The module file for `part` in `dir` (`router.ts`, `router.mjs`, …), or undefined. */
export function findModule(dir: string, part: string): string | undefined {
  for (const ext of MODULE_EXTENSIONS) {
    const f = join(dir, part + ext);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/** Files in `dir/sub` with one of `exts`, not starting with `_` or `.`, sorted. */
export function listFiles(dir: string, sub: string, exts: readonly string[]): string[] {
  const d = join(dir, sub);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter(
      (f) =>
        !f.startsWith("_") &&
        !f.startsWith(".") &&
        exts.some((e) => f.endsWith(e)) &&
        !f.endsWith(".d.ts"),
    )
    .filter((f) => !/\.test\.[mc]?[jt]s$/.test(f))
    .sort()
    .map((f) => join(d, f));
}

/** True when `dir` holds any part that makes it an integration. */
export function isIntegrationFolder(dir: string): boolean {
  return (
    ACTIVE_PARTS.some((p) => findModule(dir, p)) ||
    findModule(dir, "jobs") !== undefined ||
    listFiles(dir, "tools", MODULE_EXTENSIONS).length > 0 ||
    listFiles(dir, "skills", [".md"]).length > 0
  );
}

/**
 * Scans the sources in order.
 * @param onMissing told about a source directory that does not exist (it is skipped)
 */
export function discoverIntegrations(
  sources: string[],
  onMissing: (dir: string) => void = () => {},
): DiscoveredFolder[] {
  const byName = new Map<string, DiscoveredFolder>();
  for (const raw of sources) {
    const source = resolve(raw);
    if (!existsSync(source) || !statSync(source).isDirectory()) {
      onMissing(source);
      continue;
    }
    for (const entry of readdirSync(source, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith("_") || entry.name.startsWith("."))
        continue;
      if (entry.name === "node_modules") continue;
      const dir = join(source, entry.name);
      if (!isIntegrationFolder(dir)) continue;
      const previous = byName.get(entry.name);
      byName.set(entry.name, {
        name: entry.name,
        dir,
        source,
        overrides: previous ? [...previous.overrides, previous.dir] : [],
      });
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The discovery sources in order: this repository's `integrations/`, each
 * `INTEGRATION_DIRS` entry, then `<workspace>/integrations`. Server and CLI share it.
 */
export function integrationSources(config: {
  integrationDirs: string[];
  workspaceDir: string;
}): string[] {
  return [
    join(import.meta.dirname, "..", "..", "integrations"),
    ...config.integrationDirs,
    join(config.workspaceDir, "integrations"),
  ];
}
