/**
 * A bot's `runtime` settings: which provider runs its workspace tools, what the scope is
 * (one folder per session, per channel or per bot), whether commands may use the network,
 * and the limits of one `bash` call. Stored as JSON on the bot; fields left out take the
 * defaults below.
 */
import { z } from "zod";

/** What one scope folder is shared by. */
export const RUNTIME_SCOPE_KINDS = ["session", "channel", "bot"] as const;

/** The provider name that means "whatever `SWITCHYARD_RUNTIME` chose for this server". */
export const DEFAULT_PROVIDER = "default";

/** A bot's runtime settings, every field set. */
export interface BotRuntimeConfig {
  /** `default` (the server's `SWITCHYARD_RUNTIME`), `host`, `bubblewrap` or an integration's. */
  provider: string;
  /** One folder per session (default), per channel or per bot. */
  scope: (typeof RUNTIME_SCOPE_KINDS)[number];
  /** Commands may use the network (only `bubblewrap` can take it away). */
  network: boolean;
  /** Most seconds one `bash` call may run; then its processes are killed. */
  timeout_s: number;
  /** Output kept per stream of one `bash` call, and the cap of other tool results, bytes. */
  max_output_bytes: number;
}

/** The settings a bot without any has. */
export const DEFAULT_RUNTIME_CONFIG: Readonly<BotRuntimeConfig> = Object.freeze({
  provider: DEFAULT_PROVIDER,
  scope: "session",
  network: false,
  timeout_s: 120,
  max_output_bytes: 65_536,
});

/** Upper bounds of the numeric settings. */
export const RUNTIME_LIMITS = { timeout_s: 3600, max_output_bytes: 16 * 1024 * 1024 } as const;

/**
 * The wire form (admin API): every field optional, unknown fields refused. A provider name
 * is checked against the providers known at the time by the caller.
 */
export const runtimeConfigSchema = z.strictObject({
  provider: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "a provider name: 1–64 letters, digits, _ or -")
    .optional(),
  scope: z.enum(RUNTIME_SCOPE_KINDS).optional(),
  network: z.boolean().optional(),
  timeout_s: z.number().int().min(1).max(RUNTIME_LIMITS.timeout_s).optional(),
  max_output_bytes: z.number().int().min(1024).max(RUNTIME_LIMITS.max_output_bytes).optional(),
});

/** The wire form of a bot's runtime settings (fields optional). */
export type RuntimeConfigInput = z.infer<typeof runtimeConfigSchema>;

/**
 * The settings with defaults filled in. A stored value that no longer parses (written by a
 * newer version, or by hand) falls back field by field to the defaults.
 */
export function resolveRuntimeConfig(stored: unknown): BotRuntimeConfig {
  const out: BotRuntimeConfig = { ...DEFAULT_RUNTIME_CONFIG };
  if (!stored || typeof stored !== "object") return out;
  const shape = runtimeConfigSchema.shape;
  for (const key of Object.keys(shape) as (keyof BotRuntimeConfig)[]) {
    const r = shape[key].safeParse((stored as Record<string, unknown>)[key]);
    if (r.success && r.data !== undefined)
      (out as unknown as Record<string, unknown>)[key] = r.data;
  }
  return out;
}
