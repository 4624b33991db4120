/**
 * Core settings, read once from the environment and an optional `.env` file in the
 * working directory (the environment wins), validated with zod. An invalid value stops
 * the start with a message that names the variable.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const int = (min: number) => z.coerce.number({ message: "expected a number" }).int().min(min);

/** Providers understood in `SWITCHYARD_MODEL` (`provider:model`). */
export const MODEL_PROVIDERS = ["openai", "anthropic", "ollama", "openai-compatible"] as const;

const modelSpec = z.string().refine(
  (v) => {
    const i = v.indexOf(":");
    return (
      i > 0 && i < v.length - 1 && (MODEL_PROVIDERS as readonly string[]).includes(v.slice(0, i))
    );
  },
  { message: `expected provider:model with provider one of ${MODEL_PROVIDERS.join(", ")}` },
);

const urlString = z.url({ message: "expected an http(s) URL" });

const schema = z.object({
  PORT: int(0).max(65535).default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  SWITCHYARD_DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z.string().optional(),
  SWITCHYARD_API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  SWITCHYARD_MODEL: modelSpec.default("ollama:llama3.2"),
  /** Embedding model for document search (`provider:model`); unset → lexical search only. */
  SWITCHYARD_EMBEDDING_MODEL: modelSpec.optional(),
  SWITCHYARD_LLM_BASE_URL: urlString.optional(),
  SWITCHYARD_LLM_API_KEY: z.string().optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: urlString.optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  OLLAMA_BASE_URL: urlString.default("http://127.0.0.1:11434"),
  TASK_MAX_RUN_SECONDS: int(1).max(2_147_483, "at most 2147483 (24.8 days)").default(1200),
  // 0: this instance runs no tasks (it accepts and stores work; other instances run it).
  SWITCHYARD_WORKER_CONCURRENCY: int(0).max(1000).default(16),
  SWITCHYARD_ALLOW_PRIVATE_URLS: bool.default(false),
  SWITCHYARD_TASK_LEASE_SECONDS: int(1).max(3600).default(30),
  /** How long a tool approval waits for a decision before it expires (counts as denied), s. */
  SWITCHYARD_APPROVAL_TTL_SECONDS: int(1).max(31_536_000).default(86_400),
  SWITCHYARD_SHUTDOWN_GRACE_SECONDS: int(0).max(3600).default(10),
  /**
   * Most runs of one tool with the same arguments in one turn; the next such call gets a
   * tool error, and one more fails the turn (`agent/guards.ts`).
   */
  SWITCHYARD_MAX_REPEATED_TOOL_CALLS: int(1).max(1000).default(3),
  /** Longest chain of `delegate` calls from a task nobody delegated (1: no grandchildren). */
  SWITCHYARD_DELEGATION_MAX_DEPTH: int(1).max(20).default(2),
  /** Most `delegate` calls one task may make. */
  SWITCHYARD_DELEGATION_MAX_CHILDREN: int(1).max(1000).default(5),
  /** How long an admin UI sign-in lasts, hours. */
  SWITCHYARD_UI_SESSION_HOURS: int(1)
    .max(24 * 90)
    .default(12),
  /**
   * Outbox lease of one delivery attempt, seconds; unset → the outbound per-try timeout
   * (15 s) + 5 s. A crashed instance's deliveries are sent again once it runs out.
   */
  SWITCHYARD_DELIVERY_LEASE_SECONDS: int(1).max(3600).optional(),
  /**
   * The outbox's retry schedule: the delays (seconds, decimals allowed) after the 1st, 2nd, …
   * failed attempt, comma-separated; its length + 1 is the attempt cap. Unset → Svix's
   * `5,300,1800,7200,18000,36000,36000` (REFERENCE.md), each ±20 % jitter.
   */
  SWITCHYARD_DELIVERY_SCHEDULE_SECONDS: z
    .string()
    .transform((v, ctx) => {
      const steps = v.split(",").map((x) => Number(x.trim()));
      if (steps.length > 20 || steps.some((n) => !Number.isFinite(n) || n < 0.01 || n > 604_800)) {
        ctx.addIssue({
          code: "custom",
          message: "expected 1 to 20 comma-separated delays, each 0.01 to 604800 seconds",
        });
        return z.NEVER;
      }
      return steps;
    })
    .optional(),
  /** Sends in flight to one destination (receiver URL) at once. */
  SWITCHYARD_DELIVERY_PER_DESTINATION: int(1).max(1000).default(4),
  /** Delivery attempts in a row without an answer (timeout, network error) that park a destination. */
  SWITCHYARD_DELIVERY_BREAKER_FAILURES: int(1).max(1000).default(5),
  /** How long a parked destination waits before one delivery probes it, seconds. */
  SWITCHYARD_DELIVERY_BREAKER_COOLOFF_SECONDS: int(1).max(86_400).default(60),
  /** A request (headers and body) must arrive within this; then 408 and the connection is closed. */
  SWITCHYARD_REQUEST_TIMEOUT_SECONDS: int(1).max(3600).default(30),
  /** The request headers must arrive within this (at most the request timeout). */
  SWITCHYARD_HEADERS_TIMEOUT_SECONDS: int(1).max(3600).default(10),
  /** An idle keep-alive connection is closed after this. */
  SWITCHYARD_KEEP_ALIVE_TIMEOUT_SECONDS: int(1).max(3600).default(5),
  INTEGRATION_DIRS: z.string().optional(),
  TOOL_DIRS: z.string().optional(),
  HOOK_WEBHOOK_URLS: z
    .string()
    .optional()
    .refine(
      (v) => !v || v.split(",").every((u) => /^https?:\/\/\S+$/.test(u.trim())),
      "expected comma-separated http(s) URLs",
    ),
  HOOK_WEBHOOK_SECRET: z.string().optional(),
  SWITCHYARD_SECRET_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  SWITCHYARD_WORKSPACE_DIR: z.string().min(1).optional(),
  /**
   * Where the workspace tools run for bots whose `runtime.provider` is `default`: `auto`
   * (bubblewrap when bwrap works here, else host), `host`, `bubblewrap`, `none` (tools off).
   */
  SWITCHYARD_RUNTIME: z
    .enum(["auto", "host", "bubblewrap", "none"], {
      message: "expected auto, host, bubblewrap or none",
    })
    .default("auto"),
  SWITCHYARD_MAX_BODY_BYTES: int(1024).default(1024 * 1024),
  /** SMTP server for email notifications: `smtp://[user:pass@]host[:port]` or `smtps://…`. */
  SMTP_URL: z
    .string()
    .optional()
    .refine((v) => !v || /^smtps?:\/\/[^\s]+$/.test(v), "expected smtp://… or smtps://…"),
  /** Sender of email notifications; default `switchyard@localhost`. */
  SMTP_FROM: z.string().min(3).optional(),
  /** Recipient of email notifications that name none. */
  SMTP_TO: z.string().min(3).optional(),
  SWITCHYARD_LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info"),
  /** `pretty`: human-readable lines; `json`: one JSON object a line; `auto`: pretty on a terminal. */
  SWITCHYARD_LOG_FORMAT: z.enum(["auto", "pretty", "json"]).default("auto"),
});

/** Validated core settings. Field names are the environment variable names. */
export type Config = z.infer<typeof schema> & {
  /** Absolute data directory. */
  dataDir: string;
  /** Resolved database URL: `postgres://…` or `sqlite:<absolute path>`. */
  databaseUrl: string;
  /** Absolute workspace directory (default `<data dir>/workspace`). */
  workspaceDir: string;
  /** Absolute `INTEGRATION_DIRS` entries, in order. */
  integrationDirs: string[];
  /** Absolute `TOOL_DIRS` entries, in order. */
  toolDirs: string[];
  /** The merged environment (`.env` under the process environment); integration settings read it. */
  env: Record<string, string | undefined>;
};

/** Thrown by {@link loadConfig} when a variable is invalid; the message names each variable. */
export class ConfigError extends Error {}

/**
 * Reads `.env` (if present in `cwd`) under the given environment and validates the result.
 * @param env environment variables (default `process.env`); these override `.env`.
 * @throws ConfigError naming every invalid variable (never echoing a secret's value).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const merged: Record<string, string | undefined> = { ...readDotEnv(cwd), ...env };
  // Empty strings mean "unset", as most .env users expect.
  for (const k of Object.keys(merged)) if (merged[k] === "") delete merged[k];
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const c = parsed.data;
  const dataDir = resolve(cwd, c.SWITCHYARD_DATA_DIR);
  let databaseUrl = c.DATABASE_URL ?? `sqlite:${resolve(dataDir, "switchyard.db")}`;
  if (databaseUrl.startsWith("sqlite:")) {
    const p = databaseUrl.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    databaseUrl = p === ":memory:" ? "sqlite::memory:" : `sqlite:${resolve(cwd, p)}`;
  } else if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      "Invalid configuration:\n  DATABASE_URL: expected postgres://… or sqlite:<path>",
    );
  }
  const workspaceDir = resolve(cwd, c.SWITCHYARD_WORKSPACE_DIR ?? resolve(dataDir, "workspace"));
  const dirs = (v: string | undefined) =>
    (v ?? "")
      .split(":")
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => resolve(cwd, d));
  return {
    ...c,
    dataDir,
    databaseUrl,
    workspaceDir,
    integrationDirs: dirs(c.INTEGRATION_DIRS),
    toolDirs: dirs(c.TOOL_DIRS),
    env: merged,
  };
}

function readDotEnv(cwd: string): Record<string, string> {
  const file = resolve(cwd, ".env");
  if (!existsSync(file)) return {};
  return parseEnv(readFileSync(file, "utf8")) as Record<string, string>;
}

/** A database URL with any password replaced by `***`, for banners and logs. */
export function redactDatabaseUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    if (u.searchParams.has("password")) u.searchParams.set("password", "***");
    return u.toString().replace(/%2A%2A%2A/g, "***");
  } catch {
    return "postgres://(unparsable URL)";
  }
}
