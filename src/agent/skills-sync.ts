/**
 * Skill sync at start-up: every `integrations/<name>/skills/*.md` becomes the skill
 * `integrations/<name>/<stem>` (front matter `name`, `description`; the body is the text).
 * Changes are found by the file's SHA-256: new and changed files are written, unchanged
 * ones left alone, and skills whose file is gone are deleted — except when an integration
 * that had skills now shows none at all (its folder or mount is missing): those are kept
 * and a warning says so, because a missing mount must not wipe skills.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Logger } from "pino";
import { parseFrontMatter, skillFrontMatterWarning } from "../lib/front-matter.ts";
import type { SkillInput, SkillRepository } from "../store/skills.ts";

/** The skill files of one integration, as the loader found them. */
export interface SkillSource {
  integration: string;
  files: string[];
}

/** What a sync did. */
export interface SkillSyncReport {
  added: string[];
  updated: string[];
  removed: string[];
  unchanged: string[];
  /** Skills kept although their integration showed no skill files. */
  kept: string[];
  warnings: string[];
}

const FRONT_MATTER_RE = /^\uFEFF?---[ \t]*\r?\n[\s\S]*?\r?\n---[ \t]*(?:\r?\n|$)/;

/** The id of the skill in `file` of integration `integration`. */
export function skillId(integration: string, file: string): string {
  return `integrations/${integration}/${basename(file).replace(/\.md$/, "")}`;
}

/**
 * Reads one skill file. Without front matter the name is the file's stem and the
 * description is empty (the returned warning says so, in the words of
 * {@link skillFrontMatterWarning}, as the loader and `integrations check` do).
 */
export function readSkillFile(
  integration: string,
  file: string,
): { skill: SkillInput; warning?: string } {
  const text = readFileSync(file, "utf8");
  const fm = parseFrontMatter(text);
  const stem = basename(file).replace(/\.md$/, "");
  const body = fm ? text.replace(FRONT_MATTER_RE, "") : text.replace(/^\uFEFF/, "");
  const skill: SkillInput = {
    id: skillId(integration, file),
    integration,
    name: fm?.name || stem,
    description: fm?.description ?? "",
    content: body.trim(),
    source: file,
    contentHash: createHash("sha256").update(text).digest("hex"),
  };
  const warning = skillFrontMatterWarning(text);
  return warning ? { skill, warning: `${file}: ${warning}` } : { skill };
}

/** Brings the skill store in line with the integrations' skill files. Never throws for a bad file. */
export async function syncSkills(
  store: SkillRepository,
  sources: SkillSource[],
  log: Logger,
): Promise<SkillSyncReport> {
  const report: SkillSyncReport = {
    added: [],
    updated: [],
    removed: [],
    unchanged: [],
    kept: [],
    warnings: [],
  };
  const warn = (msg: string, extra: Record<string, unknown> = {}) => {
    report.warnings.push(msg);
    log.warn(extra, msg);
  };
  const existing = new Map((await store.list()).map((s) => [s.id, s]));
  const seen = new Map<string, Set<string>>();

  for (const src of sources) {
    const ids = new Set<string>();
    seen.set(src.integration, ids);
    for (const file of src.files) {
      const id = skillId(src.integration, file);
      ids.add(id); // even when unreadable: an unreadable file must not delete its skill
      let read: ReturnType<typeof readSkillFile>;
      try {
        read = readSkillFile(src.integration, file);
      } catch (err) {
        warn(`skill file ${file} could not be read; its stored skill is kept`, {
          err: (err as Error).message,
        });
        continue;
      }
      if (read.warning) warn(read.warning);
      const old = existing.get(id);
      if (old && old.contentHash === read.skill.contentHash && old.source === read.skill.source) {
        report.unchanged.push(id);
        continue;
      }
      await store.upsert(read.skill);
      (old ? report.updated : report.added).push(id);
    }
  }

  const storedBy = new Map<string, string[]>();
  for (const s of existing.values()) {
    storedBy.set(s.integration, [...(storedBy.get(s.integration) ?? []), s.id]);
  }
  for (const [integration, ids] of storedBy) {
    const found = seen.get(integration);
    if (!found || found.size === 0) {
      report.kept.push(...ids);
      warn(
        `integration ${integration} shows no skill files but ${ids.length} skill(s) are stored; ` +
          "kept (is its folder or mount missing?). Delete them with DELETE /api/v1/skills/<id> " +
          "if they were removed on purpose",
        { integration, skills: ids },
      );
      continue;
    }
    const gone = ids.filter((id) => !found.has(id));
    if (gone.length) {
      await store.delete(gone);
      report.removed.push(...gone);
    }
  }
  log.info(
    {
      added: report.added.length,
      updated: report.updated.length,
      removed: report.removed.length,
      unchanged: report.unchanged.length,
      kept: report.kept.length,
    },
    "skills synced",
  );
  return report;
}
