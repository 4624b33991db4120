/**
 * `switchyard jobs list|add|rm|run` (docs/jobs.md): the scheduled jobs of a running server,
 * over its REST API with `SWITCHYARD_API_KEY` (or the data dir's `api-key` file) at
 * `--url` (default `http://HOST:PORT`). Each command returns its exit code: 0 done,
 * 1 refused (the server's `detail` printed) or the server unreachable.
 */
import type { Config } from "../config.ts";
import { apiKeyOf, localServerUrl } from "./server-api.ts";

/** Options every jobs command takes. */
export interface JobsCliOptions {
  url?: string;
  json?: boolean;
}

/** Options of `jobs add`. */
export interface JobsAddOptions extends JobsCliOptions {
  name: string;
  prompt: string;
  cron?: string;
  tz?: string;
  every?: string;
  at?: string;
  session?: string;
  bot?: string;
  client?: string;
  missed?: string;
  overlap?: string;
  disabled?: boolean;
}

type Call = (method: string, path: string, body?: unknown) => Promise<any>;

/** Thrown by a call the server refused: the message is its detail. */
class Refused extends Error {}

function client(config: Config, opts: JobsCliOptions): Call | undefined {
  const key = apiKeyOf(config);
  if (!key) {
    process.stderr.write(
      "No API key: set SWITCHYARD_API_KEY or start the server once to create one\n",
    );
    return undefined;
  }
  const base = (opts.url ?? localServerUrl(config)).replace(/\/$/, "");
  return async (method, path, body) => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new Refused(parsed?.detail ?? `HTTP ${res.status}`);
    return parsed;
  };
}

/** Runs `fn` with a client; maps a refusal or an unreachable server to exit code 1. */
async function withClient(
  config: Config,
  opts: JobsCliOptions,
  fn: (call: Call) => Promise<void>,
): Promise<number> {
  const call = client(config, opts);
  if (!call) return 1;
  try {
    await fn(call);
    return 0;
  } catch (err) {
    const why =
      err instanceof Refused ? err.message : `cannot reach the server: ${(err as Error).message}`;
    process.stderr.write(`switchyard jobs: ${why}\n`);
    return 1;
  }
}

function scheduleText(s: Record<string, unknown>): string {
  if (typeof s.cron === "string") return `cron ${s.cron}${s.tz ? ` (${s.tz})` : ""}`;
  if (typeof s.every_seconds === "number") return `every ${s.every_seconds}s`;
  return `at ${s.at}`;
}

/** `jobs list`: a table (or `--json`, the shape of GET /api/v1/jobs). */
export function jobsList(config: Config, opts: JobsCliOptions): Promise<number> {
  return withClient(config, opts, async (call) => {
    const { items } = await call("GET", "/api/v1/jobs");
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ items }, null, 2)}\n`);
      return;
    }
    const rows: string[][] = [
      ["ID", "NAME", "SCHEDULE", "NEXT RUN", "ENABLED", "INTEGRATION"],
      ...items.map((j: any) => [
        j.id,
        j.name,
        scheduleText(j.schedule),
        j.next_run_at ?? "-",
        j.enabled ? "yes" : "no",
        j.integration ?? "-",
      ]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
    for (const r of rows) {
      process.stdout.write(
        `${r
          .map((c, i) => String(c).padEnd(widths[i]!))
          .join("  ")
          .trimEnd()}\n`,
      );
    }
  });
}

/** `jobs add`: creates a job; prints its id and next run (or `--json`, the created job). */
export function jobsAdd(config: Config, opts: JobsAddOptions): Promise<number> {
  const forms = [opts.cron, opts.every, opts.at].filter((x) => x !== undefined).length;
  if (forms !== 1) {
    process.stderr.write("switchyard jobs add: give exactly one of --cron, --every, --at\n");
    return Promise.resolve(1);
  }
  if ((opts.session === undefined) === (opts.client === undefined)) {
    process.stderr.write("switchyard jobs add: give --session ID, or --client ID (with --bot)\n");
    return Promise.resolve(1);
  }
  const schedule =
    opts.cron !== undefined
      ? { cron: opts.cron, ...(opts.tz ? { tz: opts.tz } : {}) }
      : opts.every !== undefined
        ? { every_seconds: Number(opts.every) }
        : { at: opts.at };
  const target =
    opts.session !== undefined
      ? { session_id: opts.session }
      : { bot_id: opts.bot ?? "default", client_id: opts.client };
  return withClient(config, opts, async (call) => {
    const job = await call("POST", "/api/v1/jobs", {
      name: opts.name,
      schedule,
      target,
      prompt: opts.prompt,
      enabled: !opts.disabled,
      ...(opts.missed ? { missed: opts.missed } : {}),
      ...(opts.overlap ? { overlap: opts.overlap } : {}),
    });
    process.stdout.write(
      opts.json
        ? `${JSON.stringify(job, null, 2)}\n`
        : `${job.id}\nnext run: ${job.next_run_at ?? "never"}\n`,
    );
  });
}

/** `jobs rm <id>`: deletes a job and its runs. */
export function jobsRemove(config: Config, id: string, opts: JobsCliOptions): Promise<number> {
  return withClient(config, opts, async (call) => {
    await call("DELETE", `/api/v1/jobs/${encodeURIComponent(id)}`);
    process.stdout.write(`deleted ${id}\n`);
  });
}

/** `jobs run <id>`: runs a job now; prints the run's id, status and task (or `--json`). */
export function jobsRun(config: Config, id: string, opts: JobsCliOptions): Promise<number> {
  return withClient(config, opts, async (call) => {
    const run = await call("POST", `/api/v1/jobs/${encodeURIComponent(id)}/run`);
    process.stdout.write(
      opts.json
        ? `${JSON.stringify(run, null, 2)}\n`
        : `run ${run.id}: ${run.status}${run.reason ? ` (${run.reason})` : ""}${run.task_id ? `, task ${run.task_id}` : ""}\n`,
    );
  });
}
