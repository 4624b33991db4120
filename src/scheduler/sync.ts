/**
 * The jobs.ts sync at start-up (docs/jobs.md), like the skill sync: each definition of an
 * integration's `jobs.ts` becomes the job (integration, name). A new definition is
 * created; a changed one (by the SHA-256 of its JSON) is updated, schedule and `enabled`
 * included; an unchanged one is left alone, so what an operator changed through the API
 * (disabling it) stays until the definition changes. A definition that is gone disables
 * its job (runs are history, so nothing is deleted). An integration whose jobs.ts failed
 * to load keeps its jobs as they are. Jobs made through the API are never touched.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { JobDefinition } from "../sdk/jobs.ts";
import type { Store } from "../store/index.ts";
import { createJobBody } from "./schemas.ts";
import type { JobService } from "./service.ts";

/** One integration's declared jobs, as the loader found them. */
export interface JobSource {
  integration: string;
  /** The definitions (absent: no jobs.ts). */
  jobs?: JobDefinition[];
  /** Its jobs.ts exists but failed to load: its jobs are left as they are. */
  failed: boolean;
}

/**
 * The job sources of loaded integrations: their definitions, and whether their jobs.ts
 * exists but failed to load (an error recorded against it).
 */
export function jobSources(
  loaded: Array<{ name: string; jobs?: JobDefinition[]; errors: Array<{ file: string }> }>,
): JobSource[] {
  return loaded.map((r) => ({
    integration: r.name,
    jobs: r.jobs,
    failed: r.errors.some((e) => /[\\/]jobs\.[cm]?[jt]s$/.test(e.file)),
  }));
}

/** What a sync did, by `integration/name`. */
export interface JobSyncReport {
  created: string[];
  updated: string[];
  disabled: string[];
  unchanged: string[];
  /** Definitions refused on meaning (a bad cron expression, an unknown bot…), with the reason. */
  refused: string[];
}

/** JSON with object keys sorted, so the hash does not depend on key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return `{${keys
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Brings the declared jobs in line with the integrations' jobs.ts. Never throws for a bad definition. */
export async function syncJobs(
  jobs: JobService,
  store: Store,
  sources: JobSource[],
  log: Logger,
): Promise<JobSyncReport> {
  const report: JobSyncReport = {
    created: [],
    updated: [],
    disabled: [],
    unchanged: [],
    refused: [],
  };
  const existing = await store.jobs.declared();
  const byKey = new Map(existing.map((j) => [`${j.integration}/${j.name}`, j]));
  const kept = new Set<string>();
  const failed = new Set(sources.filter((s) => s.failed).map((s) => s.integration));
  for (const src of sources) {
    for (const def of src.jobs ?? []) {
      const key = `${src.integration}/${def.name}`;
      kept.add(key);
      const hash = createHash("sha256").update(canonical(def)).digest("hex");
      const job = byKey.get(key);
      if (job && job.definitionHash === hash) {
        report.unchanged.push(key);
        continue;
      }
      try {
        const fields = await jobs.fieldsOf(createJobBody.parse(def));
        const decl = { integration: src.integration, definitionHash: hash };
        if (!job) {
          if (await store.jobs.insertDeclared(fields, decl)) report.created.push(key);
          else report.unchanged.push(key); // another instance synced it meanwhile
        } else {
          await store.jobs.update(job.id, fields, hash);
          report.updated.push(key);
        }
      } catch (err) {
        report.refused.push(`${key}: ${(err as Error).message}`);
        log.warn({ job: key, reason: (err as Error).message }, "declared job refused");
      }
    }
  }
  for (const job of existing) {
    const key = `${job.integration}/${job.name}`;
    if (kept.has(key) || failed.has(job.integration!)) continue;
    if (!job.enabled && job.definitionHash === null) continue;
    // Forget the hash too: if the definition comes back, it is applied (and enabled) again.
    await store.jobs.update(job.id, { enabled: false, nextRunAt: null }, null);
    report.disabled.push(key);
  }
  if (report.created.length + report.updated.length + report.disabled.length) {
    log.info(
      { created: report.created, updated: report.updated, disabled: report.disabled },
      "declared jobs synced",
    );
  }
  return report;
}
