/**
 * The models the bots actually use: the `default` bot made from the environment, and the
 * start-up check (banner, `doctor`) that probes every bot's models — each endpoint once —
 * and says which bot's endpoint does not answer.
 */
import type { Bot, EnvBot } from "../store/bots.ts";
import { type ModelRegistry, parseModelSpec } from "./models.ts";

/** The bot the server creates from SWITCHYARD_MODEL, and keeps in line with it while env-owned. */
export function envDefaultBot(model: string): EnvBot {
  return { id: "default", name: "Default", systemPrompt: "You are a helpful assistant.", model };
}

/** The parts of a bot the model check reads. */
export type BotModels = Pick<Bot, "id" | "model" | "fallbackModels"> &
  Partial<Pick<Bot, "managedBy">>;

/**
 * The bots as a start with `envModel` would leave them, without writing: the env-owned
 * `default` bot gets `envModel`, and a missing one is added (what `doctor` checks).
 */
export function botsAsStarted(bots: BotModels[], envModel: string): BotModels[] {
  const env = envDefaultBot(envModel);
  const out = bots.map((b) =>
    b.id === env.id && b.managedBy === "env" ? { ...b, model: envModel } : b,
  );
  if (!out.some((b) => b.id === env.id)) {
    out.unshift({ id: env.id, model: envModel, fallbackModels: [], managedBy: "env" });
  }
  return out;
}

/** One model spec in use, with the outcome of probing its endpoint. */
export interface ModelUse {
  /** `provider:model` */
  spec: string;
  ok: boolean;
  /** The endpoint asked ("" when the spec or its provider is unusable). */
  endpoint: string;
  /** Why it failed (never holds an API key). */
  reason?: string;
  /** The bots using it, and whether as their model or a fallback. */
  bots: Array<{ id: string; fallback: boolean }>;
}

/**
 * Probes the models of `bots` (model and fallbacks). Each provider endpoint is asked
 * once however many specs and bots use it (the probe lists the endpoint's models, so the
 * model name does not change the answer). Never throws.
 * @param timeoutMs how long each probe waits (ms)
 * @returns one entry per distinct spec, in the order the bots name them
 */
export async function checkBotModels(
  models: Pick<ModelRegistry, "probe">,
  bots: BotModels[],
  timeoutMs: number,
): Promise<ModelUse[]> {
  const uses = new Map<string, ModelUse>();
  for (const b of bots) {
    const specs = [b.model, ...b.fallbackModels];
    specs.forEach((spec, i) => {
      let use = uses.get(spec);
      if (!use) {
        use = { spec, ok: false, endpoint: "", bots: [] };
        uses.set(spec, use);
      }
      if (!use.bots.some((x) => x.id === b.id)) use.bots.push({ id: b.id, fallback: i > 0 });
    });
  }
  const probes = new Map<string, ReturnType<ModelRegistry["probe"]>>();
  await Promise.all(
    [...uses.values()].map(async (use) => {
      let key = use.spec;
      try {
        key = parseModelSpec(use.spec).provider;
      } catch {}
      let p = probes.get(key);
      if (!p) {
        p = models.probe(use.spec, timeoutMs);
        probes.set(key, p);
      }
      const r = await p;
      use.ok = r.ok;
      use.endpoint = r.endpoint;
      if (r.reason !== undefined) use.reason = r.reason;
    }),
  );
  return [...uses.values()];
}

/** `bot "a"` or `bots "a", "b"`. */
export function botNames(ids: string[]): string {
  return `${ids.length === 1 ? "bot" : "bots"} ${ids.map((id) => `"${id}"`).join(", ")}`;
}

/**
 * One line per failing (bot, spec): `bot "x" ollama:llama3.2 — endpoint not answering: …`
 * (`bot "x" fallback …` for a fallback model).
 */
export function failureLines(uses: ModelUse[]): string[] {
  return uses
    .filter((u) => !u.ok)
    .flatMap((u) =>
      u.bots.map(
        (b) =>
          `bot "${b.id}" ${b.fallback ? "fallback " : ""}${u.spec} — endpoint not answering: ${u.reason ?? "unknown"}`,
      ),
    );
}
