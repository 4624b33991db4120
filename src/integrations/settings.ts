/**
 * Integration settings: each key declared in the folder's `setup.ts` `env_vars` resolves
 * environment → declared default (database-stored values come first once the admin API
 * stores them). Secrets are never logged; {@link maskSecret} shows them as `****`, or
 * `****wxyz` (the last 4 characters) for a secret longer than 20.
 */
import type { EnvVarSpec, SetupManifest } from "../sdk/index.ts";

/** Where a setting's value came from. */
export type SettingSource = "db" | "env" | "default" | "unset";

/** A resolved setting. */
export interface ResolvedSetting {
  spec: EnvVarSpec;
  value: string | undefined;
  source: SettingSource;
}

/**
 * Resolves every declared setting.
 * @param stored values kept in the database (win over the environment)
 */
export function resolveSettings(
  setup: SetupManifest | null,
  env: Record<string, string | undefined>,
  stored: Record<string, string> = {},
): ResolvedSetting[] {
  return (setup?.env_vars ?? []).map((spec) => {
    if (stored[spec.key] !== undefined) return { spec, value: stored[spec.key], source: "db" };
    const e = env[spec.key];
    if (e !== undefined && e !== "") return { spec, value: e, source: "env" };
    if (spec.default !== undefined) return { spec, value: spec.default, source: "default" };
    return { spec, value: undefined, source: "unset" };
  });
}

/** `{KEY: value}` of resolved settings (unset keys are present with `undefined`). */
export function settingsObject(resolved: ResolvedSetting[]): Record<string, string | undefined> {
  return Object.fromEntries(resolved.map((r) => [r.spec.key, r.value]));
}

/**
 * A secret for display: `****`, followed by its last 4 characters only when it is longer
 * than 20 (so at most 4 of at least 21 characters show). Never its start, which often names
 * the key's kind and account.
 */
export function maskSecret(value: string): string {
  return value.length > 20 ? `****${value.slice(-4)}` : "****";
}
