/**
 * The API key on first start: `SWITCHYARD_API_KEY` when set; else one is generated, kept
 * only as its hash, printed once and written to `<data dir>/api-key` (mode 0600).
 */
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.ts";
import type { Store } from "../store/index.ts";

/** Where the API key in force comes from, for the banner. */
export interface ApiKeyInfo {
  source: "env" | "generated" | "file";
  /** The generated key, only on the start that created it (print once). */
  newKey?: string;
  path?: string;
}

const GENERATED_KEY_NAME = "generated-on-first-start";

/**
 * Makes sure an API key exists: `SWITCHYARD_API_KEY` when set; else one generated on first
 * start, stored hashed, written to `<data dir>/api-key` (mode 0600) and returned once.
 */
export async function ensureApiKey(store: Store, config: Config): Promise<ApiKeyInfo> {
  if (config.SWITCHYARD_API_KEY) return { source: "env" };
  const path = join(config.dataDir, "api-key");
  if (await store.apiKeys.existsNamed(GENERATED_KEY_NAME)) {
    return { source: "file", path: existsSync(path) ? path : undefined };
  }
  const { key } = await store.apiKeys.create(GENERATED_KEY_NAME, ["admin"]);
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { source: "generated", newKey: key, path };
}
