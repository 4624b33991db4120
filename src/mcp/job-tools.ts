/**
 * Jobs as MCP tools (docs/jobs.md): list, create, delete, run now. Each takes the input of
 * its REST route (the route's zod schema), calls the same job service and returns the
 * route's JSON; each needs its route's scope ({@link JOB_TOOL_SCOPES}).
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { jobJson, jobWithPreview, runJson } from "../api/jobs.ts";
import type { JobRunner } from "../scheduler/runner.ts";
import { createJobBody } from "../scheduler/schemas.ts";
import type { JobService } from "../scheduler/service.ts";
import type { Scope } from "../sdk/scopes.ts";
import type { Store } from "../store/index.ts";
import { ToolInputError } from "./core-tools.ts";

/** What the job tools call. */
export interface JobMcpServices {
  jobs: JobService;
  runner: JobRunner;
  store: Store;
}

/** Every job tool with the scope of its REST route. */
export const JOB_TOOL_SCOPES = {
  jobs_list: "jobs:read",
  job_create: "jobs:write",
  job_delete: "jobs:write",
  job_run: "jobs:write",
} as const satisfies Record<string, Scope>;

/** The name of one job tool. */
export type JobToolName = keyof typeof JOB_TOOL_SCOPES;

/** Wraps a tool body with its scope check and error mapping (server.ts provides it). */
export type JobToolRunner = <A>(
  name: JobToolName,
  body: (args: A) => Promise<unknown>,
) => (args: A) => Promise<CallToolResult>;

const jobId = { job_id: z.string().min(1).max(200) };

/** Registers the job tools on `server`. */
export function registerJobTools(server: McpServer, run: JobToolRunner, s: JobMcpServices): void {
  server.registerTool(
    "jobs_list",
    {
      description:
        "Scheduled jobs, newest first, as GET /api/v1/jobs: {items: [{id, name, schedule, target, prompt, enabled, missed, overlap, next_run_at, integration}]}.",
      annotations: { readOnlyHint: true },
    },
    run("jobs_list", async () => (await s.store.jobs.list({ limit: 200 })).map(jobJson)),
  );
  server.registerTool(
    "job_create",
    {
      description:
        "Create a scheduled job, as POST /api/v1/jobs. schedule: {cron, tz?} (5 or 6 fields, IANA time zone) | {every_seconds} | {at: ISO 8601}; target: a session id or {bot_id, client_id}. Returns the job with next_run_at and next_runs.",
      inputSchema: createJobBody.shape,
    },
    run("job_create", async (args: unknown) => {
      const r = createJobBody.safeParse(args);
      if (!r.success) {
        const issue = r.error.issues[0]!;
        throw new ToolInputError(
          `Invalid input: ${issue.path.join(".") || "input"}: ${issue.message}`,
        );
      }
      return jobWithPreview(await s.jobs.create(r.data));
    }),
  );
  server.registerTool(
    "job_delete",
    {
      description:
        "Delete a job and its runs, as DELETE /api/v1/jobs/{id}. Returns {deleted, job_id}.",
      inputSchema: jobId,
      annotations: { destructiveHint: true },
    },
    run("job_delete", async (a: { job_id: string }) => {
      await s.jobs.delete(a.job_id);
      return { deleted: true, job_id: a.job_id };
    }),
  );
  server.registerTool(
    "job_run",
    {
      description:
        "Run a job now, as POST /api/v1/jobs/{id}/run: a run for the slot now (next_run_at unchanged). Returns the run {id, status, reason, task_id…}; follow the task with task_get.",
      inputSchema: jobId,
    },
    run("job_run", async (a: { job_id: string }) =>
      runJson(await s.runner.runNow(await s.jobs.get(a.job_id))),
    ),
  );
}
