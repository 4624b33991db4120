/** Which skills a run gets, and how their text enters its context. */
import type { Skill } from "../store/skills.ts";

/**
 * `@skill:<id>` tags: an id is word characters and `-`, in parts joined by `/` or `.`, so a
 * sentence's final full stop or comma is not taken as part of it.
 */
const TAG_RE = /@skill:([\w-]+(?:[./][\w-]+)*)/g;

/** The skill ids tagged in `text`, in order, without duplicates. */
export function skillTags(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(TAG_RE), (m) => m[1]!))];
}

/**
 * The skill ids of one run: the bot's, then the run's `execution_config.skills`, then the
 * ones tagged in its message; each once, first occurrence kept.
 */
export function runSkillIds(
  botSkills: readonly string[],
  runSkills: readonly string[] | undefined,
  prompt: string,
): string[] {
  return [...new Set([...botSkills, ...(runSkills ?? []), ...skillTags(prompt)])];
}

/** The system section a skill adds to a run: `## Skill: <name>` and its text. */
export function skillSection(skill: Pick<Skill, "name" | "content">): string {
  return `## Skill: ${skill.name}\n${skill.content}`;
}
