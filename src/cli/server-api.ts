/**
 * How CLI commands reach a running server on this machine: its base URL from the
 * configuration and the API key (`SWITCHYARD_API_KEY`, else the data dir's `api-key` file,
 * which the server writes at its first start).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.ts";

/** The API key: `SWITCHYARD_API_KEY`, else `<data dir>/api-key`; undefined when neither. */
export function apiKeyOf(
  config: Pick<Config, "SWITCHYARD_API_KEY" | "dataDir">,
): string | undefined {
  if (config.SWITCHYARD_API_KEY) return config.SWITCHYARD_API_KEY;
  const file = join(config.dataDir, "api-key");
  return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
}

/**
 * The local server's base URL, `http://HOST:PORT` without a trailing slash; a wildcard
 * HOST (`0.0.0.0`, `::`) is reached at 127.0.0.1.
 */
export function localServerUrl(config: Pick<Config, "HOST" | "PORT">): string {
  const host = config.HOST === "0.0.0.0" || config.HOST === "::" ? "127.0.0.1" : config.HOST;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.PORT}`;
}
