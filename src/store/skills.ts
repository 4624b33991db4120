/**
 * The skill store: Markdown instructions synced from integration folders, by id
 * `integrations/<name>/<stem>`. Bots list skill ids; a run may add more (`execution_config.skills`,
 * `@skill:<id>` tags), and their text goes into that run's context.
 */
import type { Kysely } from "kysely";
import type { Database, SkillsTable } from "./schema.ts";

/** A skill as the code sees it. */
export interface Skill {
  id: string;
  integration: string;
  name: string;
  description: string;
  /** The Markdown body, without front matter. */
  content: string;
  /** The file it was synced from. */
  source: string;
  contentHash: string;
  createdAt: number;
  updatedAt: number;
}

/** What a sync writes. */
export type SkillInput = Omit<Skill, "createdAt" | "updatedAt">;

function toSkill(r: SkillsTable): Skill {
  return {
    id: r.id,
    integration: r.integration,
    name: r.name,
    description: r.description,
    content: r.content,
    source: r.source,
    contentHash: r.content_hash,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** Skills synced from integration folders. */
export class SkillRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Every skill (optionally of one integration), by id. */
  async list(integration?: string): Promise<Skill[]> {
    let q = this.#db.selectFrom("skills").selectAll().orderBy("id");
    if (integration !== undefined) q = q.where("integration", "=", integration);
    return (await q.execute()).map(toSkill);
  }

  /** The skill with this id, or undefined. */
  async get(id: string): Promise<Skill | undefined> {
    const r = await this.#db
      .selectFrom("skills")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return r ? toSkill(r) : undefined;
  }

  /**
   * Resolves ids (duplicates removed, first occurrence's order kept) to skills.
   * @returns the skills found and the ids no skill has
   */
  async resolve(ids: readonly string[]): Promise<{ skills: Skill[]; unknown: string[] }> {
    const wanted = [...new Set(ids)];
    if (wanted.length === 0) return { skills: [], unknown: [] };
    const rows = await this.#db
      .selectFrom("skills")
      .selectAll()
      .where("id", "in", wanted)
      .execute();
    const byId = new Map(rows.map((r) => [r.id, toSkill(r)]));
    const skills: Skill[] = [];
    const unknown: string[] = [];
    for (const id of wanted) {
      const s = byId.get(id);
      if (s) skills.push(s);
      else unknown.push(id);
    }
    return { skills, unknown };
  }

  /** Inserts a skill or replaces its fields (keeping created_at). */
  async upsert(s: SkillInput, now = Date.now()): Promise<void> {
    const fields = {
      integration: s.integration,
      name: s.name,
      description: s.description,
      content: s.content,
      source: s.source,
      content_hash: s.contentHash,
      updated_at: now,
    };
    await this.#db
      .insertInto("skills")
      .values({ id: s.id, ...fields, created_at: now })
      .onConflict((oc) => oc.column("id").doUpdateSet(fields))
      .execute();
  }

  /** Deletes skills by id; returns how many existed. */
  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.#db
      .deleteFrom("skills")
      .where("id", "in", [...ids])
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
