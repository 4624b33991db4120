/** Bots: agent configurations (DESIGN §3). */
import type { Kysely } from "kysely";
import type { ApprovalPolicy } from "./approval-tables.ts";
import { fromJson } from "./json.ts";
import type { BotsTable, Database } from "./schema.ts";

/** A bot as the code sees it (JSON columns parsed). */
export interface Bot {
  id: string;
  name: string;
  systemPrompt: string;
  /** `provider:model` */
  model: string;
  tools: string[];
  skills: string[];
  fallbackModels: string[];
  displayName: string | null;
  avatarUrl: string | null;
  integrationConfig: Record<string, unknown>;
  /** Which tool calls wait for a person; null: none (see `src/approvals/policy.ts`). */
  approval: ApprovalPolicy | null;
  /** Runtime settings as stored (fields left out take defaults: src/runtime/config.ts); null: all defaults. */
  runtime: Record<string, unknown> | null;
  /**
   * Who owns it: `env` — created from the environment, and brought back in line with it at
   * every start ({@link BotRepository.syncFromEnv}); `api` — created or edited through the
   * admin API, which the environment never touches.
   */
  managedBy: BotOwner;
  /** Token budget per UTC day (`agent/budget.ts`); null: none. */
  budget: BotBudget | null;
  createdAt: number;
  updatedAt: number;
}

/** A bot's token budget per UTC day; an absent field is no limit. */
export interface BotBudget {
  /** Most tokens the bot may use per UTC day, all sessions together. */
  tokensPerDay?: number;
  /** Most tokens the bot may use per UTC day in any one session. */
  tokensPerSessionPerDay?: number;
}

/** Who owns a bot's configuration (see {@link Bot.managedBy}). */
export type BotOwner = "env" | "api";

/** Fields a caller may set when creating or updating a bot. */
export type BotInput = Partial<Omit<Bot, "createdAt" | "updatedAt">>;

/** The fields of a bot the environment sets (see {@link BotRepository.syncFromEnv}). */
export type EnvBot = Pick<Bot, "id" | "name" | "systemPrompt" | "model">;

function toBot(r: BotsTable): Bot {
  return {
    id: r.id,
    name: r.name,
    systemPrompt: r.system_prompt,
    model: r.model,
    tools: fromJson(r.tools, []),
    skills: fromJson(r.skills, []),
    fallbackModels: fromJson(r.fallback_models, []),
    displayName: r.display_name,
    avatarUrl: r.avatar_url,
    integrationConfig: fromJson(r.integration_config, {}),
    approval: fromJson(r.approval, null),
    runtime: fromJson(r.runtime ?? null, null),
    managedBy: r.managed_by === "env" ? "env" : "api",
    budget: fromJson(r.budget ?? null, null),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toRow(b: BotInput): Partial<BotsTable> {
  const row: Partial<BotsTable> = {};
  if (b.name !== undefined) row.name = b.name;
  if (b.systemPrompt !== undefined) row.system_prompt = b.systemPrompt;
  if (b.model !== undefined) row.model = b.model;
  if (b.tools !== undefined) row.tools = JSON.stringify(b.tools);
  if (b.skills !== undefined) row.skills = JSON.stringify(b.skills);
  if (b.fallbackModels !== undefined) row.fallback_models = JSON.stringify(b.fallbackModels);
  if (b.displayName !== undefined) row.display_name = b.displayName;
  if (b.avatarUrl !== undefined) row.avatar_url = b.avatarUrl;
  if (b.integrationConfig !== undefined)
    row.integration_config = JSON.stringify(b.integrationConfig);
  if (b.managedBy !== undefined) row.managed_by = b.managedBy;
  if (b.approval !== undefined) row.approval = b.approval ? JSON.stringify(b.approval) : null;
  if (b.runtime !== undefined) row.runtime = b.runtime === null ? null : JSON.stringify(b.runtime);
  if (b.budget !== undefined) row.budget = b.budget ? JSON.stringify(b.budget) : null;
  return row;
}

/** How long a bot read is reused (ms). */
export const BOT_CACHE_MS = 5000;

/** Where {@link BotRepository} keeps and drops its reads. */
export interface BotReads {
  get(id: string): Bot | undefined;
  set(id: string, bot: Bot): void;
  delete(id: string): void;
}

/**
 * The bot read cache of one store, shared by its repository and every transaction's.
 * Bots are read on every turn and change rarely: cached by id for {@link BOT_CACHE_MS},
 * dropped on a write through this store (another instance's write is seen when the entry
 * expires).
 */
export class BotCache implements BotReads {
  readonly #entries = new Map<string, { bot: Bot; until: number }>();

  get(id: string): Bot | undefined {
    const hit = this.#entries.get(id);
    return hit && hit.until > Date.now() ? hit.bot : undefined;
  }

  set(id: string, bot: Bot): void {
    this.#entries.set(id, { bot, until: Date.now() + BOT_CACHE_MS });
  }

  delete(id: string): void {
    this.#entries.delete(id);
  }

  /**
   * The view of one transaction: it neither reads nor fills the cache (it may see its own
   * uncommitted writes, and may roll back); a write drops the entry at once and again when
   * {@link TransactionBotReads.committed} is called, so a read that raced the commit does
   * not keep the old bot.
   */
  forTransaction(): TransactionBotReads {
    return new TransactionBotReads(this);
  }
}

/** A transaction's view of the {@link BotCache}. */
export class TransactionBotReads implements BotReads {
  readonly #cache: BotCache;
  #written: string[] | undefined;
  constructor(cache: BotCache) {
    this.#cache = cache;
  }

  get(): Bot | undefined {
    return undefined;
  }

  set(): void {}

  delete(id: string): void {
    this.#cache.delete(id);
    this.#written ??= [];
    this.#written.push(id);
  }

  /** Drops the bots this transaction wrote once more (call after the commit). */
  committed(): void {
    for (const id of this.#written ?? []) this.#cache.delete(id);
  }
}

/** Bot repository. */
export class BotRepository {
  readonly #db: Kysely<Database>;
  readonly #cache: BotReads;
  /** @param cache the store's {@link BotCache}, or a transaction's view of it */
  constructor(db: Kysely<Database>, cache: BotReads) {
    this.#db = db;
    this.#cache = cache;
  }

  /** The bot with this id, or undefined. */
  async get(id: string): Promise<Bot | undefined> {
    const hit = this.#cache.get(id);
    if (hit) return hit;
    const r = await this.#db.selectFrom("bots").selectAll().where("id", "=", id).executeTakeFirst();
    if (!r) return undefined;
    const bot = toBot(r);
    this.#cache.set(id, bot);
    return bot;
  }

  /** Every bot, by id. */
  async list(): Promise<Bot[]> {
    const rows = await this.#db.selectFrom("bots").selectAll().orderBy("id").execute();
    return rows.map(toBot);
  }

  /**
   * Creates a bot. `id` is required; missing fields take defaults (empty prompt and lists,
   * owned by the API).
   * @returns the bot, or undefined when the id exists already
   */
  async create(input: BotInput & { id: string; model: string }): Promise<Bot | undefined> {
    const now = Date.now();
    const row: BotsTable = {
      id: input.id,
      name: input.name ?? input.id,
      system_prompt: input.systemPrompt ?? "",
      model: input.model,
      tools: JSON.stringify(input.tools ?? []),
      skills: JSON.stringify(input.skills ?? []),
      fallback_models: JSON.stringify(input.fallbackModels ?? []),
      display_name: input.displayName ?? null,
      avatar_url: input.avatarUrl ?? null,
      integration_config: JSON.stringify(input.integrationConfig ?? {}),
      managed_by: input.managedBy ?? "api",
      approval: input.approval ? JSON.stringify(input.approval) : null,
      runtime: input.runtime ? JSON.stringify(input.runtime) : null,
      budget: input.budget ? JSON.stringify(input.budget) : null,
      created_at: now,
      updated_at: now,
    };
    const res = await this.#db
      .insertInto("bots")
      .values(row)
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
    return toBot(row);
  }

  /**
   * Brings a bot made from the environment in line with it: creates `bot` owned by `env`
   * when it does not exist, else sets its environment-derived fields (name, system
   * prompt, model) when it is still owned by `env`; a bot edited through the API is left
   * alone. Safe when several instances start at once (the insert does nothing on conflict,
   * the update is conditional on the owner).
   * @returns the bot as stored afterwards (undefined only if it was deleted meanwhile)
   */
  async syncFromEnv(bot: EnvBot): Promise<Bot | undefined> {
    const created = await this.create({ ...bot, managedBy: "env" });
    if (created) return created;
    this.#cache.delete(bot.id);
    await this.#db
      .updateTable("bots")
      .set({
        name: bot.name,
        system_prompt: bot.systemPrompt,
        model: bot.model,
        updated_at: Date.now(),
      })
      .where("id", "=", bot.id)
      .where("managed_by", "=", "env")
      .where((eb) =>
        eb.or([
          eb("model", "<>", bot.model),
          eb("name", "<>", bot.name),
          eb("system_prompt", "<>", bot.systemPrompt),
        ]),
      )
      .execute();
    this.#cache.delete(bot.id);
    return this.get(bot.id);
  }

  /** Updates the given fields; returns the new bot or undefined when it does not exist. */
  async update(id: string, input: BotInput): Promise<Bot | undefined> {
    this.#cache.delete(id);
    const row = toRow(input);
    await this.#db
      .updateTable("bots")
      .set({ ...row, updated_at: Date.now() })
      .where("id", "=", id)
      .execute();
    this.#cache.delete(id);
    return this.get(id);
  }

  /** Deletes a bot; true when it existed. */
  async delete(id: string): Promise<boolean> {
    this.#cache.delete(id);
    const r = await this.#db.deleteFrom("bots").where("id", "=", id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
